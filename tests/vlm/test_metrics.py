"""vlm metrics against independent references: hand-computed cases from the published
definitions (VQA v2 vqaEval.py, DocVQA ANLS, MMBench CircularEval, POPE's evaluate.py),
nltk's edit distance, scikit-learn's classification metrics, and a rasterised pixel count for IoU."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from pingce.core.errors import DataError
from pingce.core.metric import MetricDef
from pingce.vlm import metrics as m


# ---------------------------------------------------------------- VQA accuracy
def test_vqa_soft_score_hand_cases() -> None:
    # Hand-computed from the published leave-one-out definition.
    # 2 of 10 say "yes": the 2 "yes" annotators' subsets hold 1 match (1/3), the 8 others
    # hold 2 (2/3): (2*1/3 + 8*2/3) / 10 = 0.6.
    assert m.vqa_accuracy("Yes.", ["yes"] * 2 + ["no"] * 8) == pytest.approx(0.6)
    # 3 of 10: (3*2/3 + 7*1) / 10 = 0.9, not 1.0 (the subsets, not min(3/3, 1)).
    assert m.vqa_accuracy("red", ["red"] * 3 + ["blue"] * 7) == pytest.approx(0.9)
    assert m.vqa_accuracy("red", ["red"] * 4 + ["blue"] * 6) == pytest.approx(1.0)
    assert m.vqa_accuracy("green", ["red"] * 10) == 0.0
    # 1 of 10: 9 subsets hold 1 match: 9 * 1/3 / 10 = 0.3.
    assert m.vqa_accuracy("two", ["2"] + ["3"] * 9) == pytest.approx(0.3)
    # one reference leaves every subset empty: refused, not a silent 0
    with pytest.raises(DataError, match="needs the annotators' answers"):
        m.vqa_accuracy("red", ["red"])


def test_vqa_normalisation_follows_the_official_rules() -> None:
    n = m.normalize_vqa_answer
    assert n("Two dogs.") == "2 dogs"  # number word, period at the end
    assert n("the T-shirt") == "t shirt"  # article; hyphen inside a word becomes a space
    assert n("isnt") == "isn't"  # contraction restored
    assert n("1,000") == "1000"  # a digit-comma-digit text loses its commas
    assert n("3.5") == "3.5"  # a period before a digit stays
    assert n("a man's hat?") == "man's hat"
    assert n("yes , it is") == "yes it is"  # mark next to a space is removed
    assert n("  None\n") == "0"


# ---------------------------------------------------------------- ANLS
def test_levenshtein_matches_nltk() -> None:
    from nltk.metrics.distance import edit_distance

    rng = random.Random(3)
    for _ in range(300):
        a = "".join(rng.choice("abc 中") for _ in range(rng.randint(0, 9)))
        b = "".join(rng.choice("abc 中") for _ in range(rng.randint(0, 9)))
        assert m.levenshtein(a, b) == edit_distance(a, b)


def test_anls_hand_cases() -> None:
    # Hand-computed: 1 - edit distance / longer length, zero from NL >= 0.5.
    assert m.anls("hallo", ["hello"]) == pytest.approx(0.8)
    assert m.anls("xyz", ["abc"]) == 0.0
    assert m.anls("ax", ["ab"]) == 0.0  # NL exactly 0.5 is cut
    assert m.anls("abcd", ["abcx"]) == pytest.approx(0.75)
    assert m.anls("HELLO   World ", ["hello world"]) == 1.0
    assert m.anls("hallo", ["xyz", "hello", "hallo!"]) == pytest.approx(max(0.8, 1 - 1 / 6))
    assert m.anls("", [""]) == 1.0
    with pytest.raises(DataError):
        m.anls("a", [])


# ---------------------------------------------------------------- grounding
def _raster_iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    grid_a = np.zeros((60, 60), bool)
    grid_b = np.zeros((60, 60), bool)
    grid_a[a[1] : a[3], a[0] : a[2]] = True
    grid_b[b[1] : b[3], b[0] : b[2]] = True
    union = (grid_a | grid_b).sum()
    return float((grid_a & grid_b).sum() / union) if union else 0.0


def test_iou_matches_a_rasterised_pixel_count() -> None:
    rng = np.random.default_rng(5)
    for _ in range(300):
        x = np.sort(rng.integers(0, 60, size=(2, 2)), axis=1)
        y = np.sort(rng.integers(0, 60, size=(2, 2)), axis=1)
        a = (int(x[0, 0]), int(y[0, 0]), int(x[0, 1]), int(y[0, 1]))
        b = (int(x[1, 0]), int(y[1, 0]), int(x[1, 1]), int(y[1, 1]))
        assert m.iou(a, b) == pytest.approx(_raster_iou(a, b))


@pytest.mark.parametrize(
    ("text", "convention", "expected"),
    [
        ("<ref>the forklift</ref><box>(100,200),(500,600)</box>", "auto", (64, 96, 320, 288)),
        ("<|box_start|>(100,200),(500,600)<|box_end|>", "auto", (64, 96, 320, 288)),
        ("The parcel is at [0.1, 0.2, 0.5, 0.6].", "auto", (64, 96, 320, 288)),
        (
            '```json\n[{"bbox_2d": [64, 96, 320, 288], "label": "parcel"}]\n```',
            "auto",
            (64, 96, 320, 288),
        ),
        ("[100, 200, 500, 600]", "thousand", (64, 96, 320, 288)),
        ("(320, 288), (64, 96)", "pixel", (64, 96, 320, 288)),  # corners swapped
        ("box: [64.0,96.5,320,288]", "auto", (64, 96.5, 320, 288)),
    ],
)
def test_box_parsing_conventions(text: str, convention: m.Convention, expected: m.Box) -> None:
    parsed = m.parse_box(text, convention)
    assert parsed is not None
    assert parsed.to_pixels(640, 480) == pytest.approx(expected)


def test_grounding_iou_and_missing_box() -> None:
    ref = (64.0, 96.0, 320.0, 288.0)
    assert m.grounding_iou("<box>(100,200),(500,600)</box>", ref, 640, 480) == pytest.approx(1.0)
    assert m.parse_box("I cannot see a forklift.") is None
    assert m.grounding_iou("I cannot see a forklift.", ref, 640, 480) == 0.0
    # half the width: IoU 0.5 exactly, which Acc@0.5 counts as a hit
    half = m.grounding_iou("[64, 96, 192, 288]", ref, 640, 480, "pixel")
    assert half == pytest.approx(0.5)


# ---------------------------------------------------------------- counting
@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("There are 7 parcels.", 7),
        ("five", 5),
        ("图中有三个包裹", 3),
        ("None.", 0),
        ("I can't tell", None),
        ("Twelve boxes, 3 of them damaged", 12),
    ],
)
def test_parse_count(text: str, count: int | None) -> None:
    assert m.parse_count(text) == count


def test_count_error_and_mae() -> None:
    errors = [m.count_error(t, 5) for t in ("5", "six", "3 boxes", "no idea")]
    assert errors[:3] == [0.0, 1.0, 2.0] and math.isinf(errors[3])
    # off-by-1 hits: 2 of 4; MAE over the three answers with a number: (0+1+2)/3 = 1.
    assert sum(e <= 1 for e in errors) == 2
    assert m.finite_mean([*errors, None]) == pytest.approx(1.0)


# ---------------------------------------------------------------- POPE
@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Yes, there is a dog in the image.", "yes"),
        ("No, there is no dog.", "no"),
        ("There is not a cat in the picture", "no"),
        ("Yes. No cat though", "yes"),  # only the first sentence is read
        ("no", "no"),
    ],
)
def test_pope_answer_reading(text: str, answer: str) -> None:
    assert m.pope_answer(text) == answer


def test_pope_numbers_match_sklearn() -> None:
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    rng = np.random.default_rng(11)
    for _ in range(20):
        ref = rng.integers(0, 2, 60)
        pred = rng.integers(0, 2, 60)
        items = [[int(p), int(r)] for p, r in zip(pred, ref, strict=True)]
        assert m.pope_precision(items) == pytest.approx(precision_score(ref, pred))
        assert m.pope_recall(items) == pytest.approx(recall_score(ref, pred))
        assert m.pope_f1(items) == pytest.approx(f1_score(ref, pred))
        assert m.pope_yes_ratio(items) == pytest.approx(pred.mean())
        assert float(np.mean([p == r for p, r in items])) == pytest.approx(
            accuracy_score(ref, pred)
        )
    assert math.isnan(m.pope_precision([[0, 1], [0, 0]]))


# ---------------------------------------------------------------- CircularEval
def test_circular_rotations_move_the_answer() -> None:
    rots = m.circular_rotations(["cat", "dog", "fish", "bird"], 2)
    assert [opts[ans] for opts, ans in rots] == ["fish"] * 4
    assert rots[1] == (["dog", "fish", "bird", "cat"], 1)
    with pytest.raises(DataError):
        m.circular_rotations(["a", "b"], 2)


def test_circular_accuracy_hand_case() -> None:
    # Hand case: q1 right in all 4 rotations, q2 wrong in one: CircularEval 1/2, while the
    # plain per-pass accuracy would be 7/8.
    items = [["q1", 1]] * 4 + [["q2", 1], ["q2", 0], ["q2", 1], ["q2", 1]]
    assert m.circular_accuracy(items) == pytest.approx(0.5)
    assert m.circular_accuracy([[7, True], [7, True]]) == 1.0


# ---------------------------------------------------------------- catalogue
def test_catalogue_is_named_in_both_languages_and_not_registered_on_import() -> None:
    from pingce.core import registry

    assert set(m.METRICS) >= {
        "vqa_accuracy",
        "anls",
        "grounding_acc_at_0_5",
        "pope_f1",
        "circular_accuracy",
    }
    for name, metric in m.METRICS.items():
        assert isinstance(metric, MetricDef) and metric.name == name
        assert metric.name_zh and any("\u4e00" <= ch <= "\u9fff" for ch in metric.name_zh)
        assert metric.definition
    assert "circular_accuracy" not in registry.metrics
    # a corpus statistic rolls up stored per-sample items into the report row
    row = m.METRICS["pope_f1"].row([[1, 1], [1, 0], [0, 1], [0, 0]], n_resamples=50)
    assert row["value"] == pytest.approx(0.5)
