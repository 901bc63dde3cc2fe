"""Scoring generated logistics items: the reference answers, scored through the metrics,
give 1 on every indicator (the generator's answer formats are what the parsers read), and
hand-made wrong answers give the hand-computed values."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from pingce.vlm import logistics as lp
from pingce.vlm.scoring import indicator_rows, score_item


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    gen = lp.generate(tmp_path_factory.mktemp("sc") / "s", per_type=4, seed=11)
    return [asdict(i) for i in gen.items]


def test_reference_answers_score_one_everywhere(items: list[dict]) -> None:
    rows = indicator_rows(items, {it["id"]: it["answers"][0] for it in items})
    assert {r["indicator"] for r in rows} == {s.indicator for s in lp.ITEM_TYPES.values()}
    for row in rows:
        assert row["n"] == 4 and row["n_missing"] == 0
        assert row["metrics"][row["primary"]]["value"] == pytest.approx(1.0), row["indicator"]


def test_wrong_and_missing_answers_hand_cases(items: list[dict]) -> None:
    counts = [it for it in items if it["item_type"] == "parcel_count"][:2]
    truth = [int(it["answers"][0]) for it in counts]
    preds = {counts[0]["id"]: str(truth[0]), counts[1]["id"]: f"I see {truth[1] + 1} parcels"}
    [row] = indicator_rows(counts, preds)
    # one exact, one off by one: accuracy 1/2, off-by-one 2/2, MAE (0 + 1) / 2
    assert row["metrics"]["count_accuracy"]["value"] == pytest.approx(0.5)
    assert row["metrics"]["count_off_by_one"]["value"] == pytest.approx(1.0)
    assert row["metrics"]["count_mae"]["value"] == pytest.approx(0.5)
    yes_no = [it for it in items if it["item_type"] == "safety_helmet"]
    flipped = {it["id"]: "No." if it["answers"] == ["yes"] else "Yes." for it in yes_no[:3]}
    [row] = indicator_rows(yes_no, flipped)
    assert row["n_missing"] == 1
    # 3 flipped answers and the missing one are all wrong
    assert row["metrics"]["pope_accuracy"]["value"] == 0.0
    assert score_item(yes_no[3], None)["pope_accuracy"] == 0.0
    assert score_item(counts[0], None)["count_mae"] is None
    loc = next(it for it in items if it["item_type"] == "localisation")
    x1, y1, x2, y2 = loc["meta"]["box"]
    half = score_item(loc, f"[{x1}, {y1}, {x1 + (x2 - x1) / 2}, {y2}]")
    assert half == {"grounding_iou": pytest.approx(0.5), "grounding_acc_at_0_5": 1.0}
    assert score_item(loc, "no box")["grounding_acc_at_0_5"] == 0.0
