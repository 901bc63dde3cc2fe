"""Per-sample scores and corpus statistics of the visual-large-model (vlm) evaluation.

Each scorer turns one model answer and its reference into the value a record stores; the
`METRICS` catalogue says how those values roll up. Nothing is registered from an import:
the standard's plugin registers `METRICS` once.

Protocols follow the published evaluation code of each benchmark:
- VQA accuracy: VQA v2's `vqaEval.py` (10-annotator soft score, answer normalisation);
- ANLS: the DocVQA / ST-VQA definition (threshold 0.5, normalised Levenshtein);
- grounding: RefCOCO's Acc@0.5 (IoU >= 0.5 with the single reference box);
- POPE: the POPE repository's yes/no reading and its five numbers (positive = "yes");
- CircularEval: MMBench (a question counts only if every rotation of its options is right).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pingce.core.errors import DataError
from pingce.core.metric import MetricDef

# ---------------------------------------------------------------- VQA accuracy

# VQA v2's contraction table (vqaEval.py): a word written without its apostrophe maps to the
# form the annotations use.
_CONTRACTIONS: dict[str, str] = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've",
    "couldnt": "couldn't", "couldn'tve": "couldn't've", "couldnt've": "couldn't've",
    "didnt": "didn't", "doesnt": "doesn't", "dont": "don't", "hadnt": "hadn't",
    "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't", "havent": "haven't",
    "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's", "howd": "how'd",
    "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm",
    "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've",
    "itll": "it'll", "let's": "let's", "maam": "ma'am", "mightnt": "mightn't",
    "mightnt've": "mightn't've", "mightn'tve": "mightn't've", "mightve": "might've",
    "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve": "not've",
    "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at",
    "'ow'sat": "'ow's'at", "shant": "shan't", "shed've": "she'd've", "she'dve": "she'd've",
    "she's": "she's", "shouldve": "should've", "shouldnt": "shouldn't",
    "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've", "somebody'd": "somebodyd",
    "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've", "someonell": "someone'll",
    "someones": "someone's", "somethingd": "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's",
    "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've",
    "therere": "there're", "theres": "there's", "theyd": "they'd", "theyd've": "they'd've",
    "they'dve": "they'd've", "theyll": "they'll", "theyre": "they're", "theyve": "they've",
    "twas": "'twas", "wasnt": "wasn't", "wed've": "we'd've", "we'dve": "we'd've",
    "weve": "we've", "werent": "weren't", "whatll": "what'll", "whatre": "what're",
    "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
    "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've",
    "who'dve": "who'd've", "wholl": "who'll", "whos": "who's", "whove": "who've",
    "whyll": "why'll", "whyre": "why're", "whys": "why's", "wont": "won't",
    "wouldve": "would've", "wouldnt": "wouldn't", "wouldnt've": "wouldn't've",
    "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll", "y'allll": "y'all'll",
    "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
    "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll",
    "youre": "you're", "youve": "you've",
}  # fmt: skip
_NUMBER_WORDS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip
_ARTICLES = frozenset({"a", "an", "the"})
_PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!")  # fmt: skip
# The published pattern is literally "(?!<=\d)": a negative look-ahead for "<=" plus a digit,
# not a look-behind; kept as published so scores match the official tool.
_PERIOD = re.compile(r"(?!<=\d)(\.)(?!\d)")
_DIGIT_COMMA_DIGIT = re.compile(r"(\d)(,)(\d)")


def _vqa_punctuation(text: str) -> str:
    out = text
    for p in _PUNCT:
        # A mark next to a space, or any text with a thousands comma, loses the mark; a mark
        # inside a word ("t-shirt") becomes a space.
        if f"{p} " in text or f" {p}" in text or _DIGIT_COMMA_DIGIT.search(text):
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    # The official call passes re.UNICODE (32) as sub's count argument; same effect here.
    return _PERIOD.sub("", out, count=32)


def _vqa_digits_articles(text: str) -> str:
    words = [_NUMBER_WORDS.get(w, w) for w in text.lower().split()]
    words = [w for w in words if w not in _ARTICLES]
    return " ".join(_CONTRACTIONS.get(w, w) for w in words)


def normalize_vqa_answer(text: str) -> str:
    """VQA v2's answer normalisation: newlines/tabs to spaces, punctuation rules, lower case,
    number words zero..ten to digits, articles dropped, contractions restored."""
    text = text.replace("\n", " ").replace("\t", " ").strip()
    return _vqa_digits_articles(_vqa_punctuation(text))


def vqa_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """VQA soft accuracy of one answer against the annotators' `answers` (10 in VQA v2).

    For each annotator i, acc_i = min(#{j != i : answer_j == prediction} / 3, 1); the score is
    the mean of acc_i (the 10 leave-one-out subsets). Prediction and answers are normalised
    alike (as lmms-eval's EvalAI processor does; the release's answers are pre-normalised, so
    this matches the official script on the release). Range 0..1.
    """
    if len(answers) < 2:
        # with one answer every leave-one-out subset is empty: a silent 0, whatever the answer
        raise DataError(
            f"vqa_accuracy needs the annotators' answers (10 in VQA v2), got {len(answers)}",
            hint="score single-reference datasets with exact match or ANLS",
        )
    pred = normalize_vqa_answer(prediction)
    refs = [normalize_vqa_answer(a) for a in answers]
    accs = []
    for i in range(len(refs)):
        matches = sum(1 for j, r in enumerate(refs) if j != i and r == pred)
        accs.append(min(matches / 3.0, 1.0))
    return sum(accs) / len(accs)


# ---------------------------------------------------------------- ANLS


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions of one character, each cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def anls(prediction: str, answers: Sequence[str], threshold: float = 0.5) -> float:
    """Average Normalised Levenshtein Similarity of one answer (DocVQA/ST-VQA): the best over
    `answers` of 1 - NL, where NL = edit distance / longer length after lower-casing and
    collapsing spaces, and a similarity whose NL is >= `threshold` counts 0. Range 0..1."""
    if not answers:
        raise DataError("anls needs at least one reference answer")
    pred = " ".join(prediction.strip().lower().split())
    best = 0.0
    for ans in answers:
        ref = " ".join(str(ans).strip().lower().split())
        longest = max(len(ref), len(pred))
        nl = levenshtein(ref, pred) / longest if longest else 0.0
        best = max(best, 1.0 - nl if nl < threshold else 0.0)
    return best


# ---------------------------------------------------------------- OCRBench, ChartQA


def ocrbench_match(prediction: str, answers: Sequence[str], dataset_name: str = "") -> float:
    """OCRBench's score of one answer: 1 when a reference occurs inside the prediction
    (lower-cased and stripped; for the HME100k formula subset case is kept and all spaces
    and newlines are dropped), else 0."""
    for ans in answers:
        if dataset_name == "HME100k":
            ref = str(ans).strip().replace("\n", " ").replace(" ", "")
            pred = prediction.strip().replace("\n", " ").replace(" ", "")
        else:
            ref = str(ans).lower().strip().replace("\n", " ")
            pred = prediction.lower().strip().replace("\n", " ")
        if ref in pred:
            return 1.0
    return 0.0


def _chart_float(text: str) -> float | None:
    try:
        return float(text.rstrip("%")) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        return None


def relaxed_accuracy(prediction: str, answers: Sequence[str], tolerance: float = 0.05) -> float:
    """ChartQA's relaxed accuracy: a number within `tolerance` relative error of a non-zero
    numeric reference (percentages as fractions) counts right; otherwise the answer must
    equal the reference ignoring case."""
    pred = prediction.strip()
    for ans in answers:
        ref = str(ans).strip()
        p, r = _chart_float(pred), _chart_float(ref)
        if p is not None and r:
            if abs(p - r) / abs(r) <= tolerance:
                return 1.0
        elif pred.lower() == ref.lower():
            return 1.0
    return 0.0


# ---------------------------------------------------------------- grounding

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
Convention = Literal["auto", "pixel", "unit", "thousand"]

_NUM = r"-?\d+(?:\.\d+)?"
_PAIR_BOX = re.compile(
    rf"\(\s*({_NUM})\s*,\s*({_NUM})\s*\)\s*,?\s*\(\s*({_NUM})\s*,\s*({_NUM})\s*\)"
)
_LIST_BOX = re.compile(rf"\[\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*\]")
_MARKUP = re.compile(r"<\|?box(?:_start)?\|?>", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedBox:
    """A box read from model text: its four numbers as written and the convention used."""

    raw: tuple[float, float, float, float]
    convention: Literal["pixel", "unit", "thousand"]

    def to_pixels(self, width: float, height: float) -> Box:
        x1, y1, x2, y2 = self.raw
        if self.convention == "unit":
            x1, x2, y1, y2 = x1 * width, x2 * width, y1 * height, y2 * height
        elif self.convention == "thousand":
            x1, x2 = x1 * width / 1000, x2 * width / 1000
            y1, y2 = y1 * height / 1000, y2 * height / 1000
        return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def parse_box(text: str, convention: Convention = "auto") -> ParsedBox | None:
    """The first box in model `text`, or None when there is none.

    Recognised forms: Qwen-VL's `<box>(x1,y1),(x2,y2)</box>` and Qwen2-VL's
    `<|box_start|>(x1,y1),(x2,y2)<|box_end|>` (both 0-1000), `(x1,y1),(x2,y2)`, a bracketed
    list `[x1, y1, x2, y2]`, and JSON objects with a `bbox_2d`/`bbox`/`box` list (Qwen2.5-VL
    emits absolute pixels there). With `convention="auto"`: box markup means 0-1000; four
    numbers all within 0..1 mean fractions of the image; anything else is pixels. Name the
    convention when the model's is known: "auto" cannot tell a pixel box near the origin
    from a 0-1000 box.
    """
    found = _PAIR_BOX.search(text)
    list_match = _LIST_BOX.search(text)
    if found is None or (list_match is not None and list_match.start() < found.start()):
        found = list_match
    if found is None:
        return None
    raw = tuple(float(v) for v in found.groups())
    assert len(raw) == 4
    if convention != "auto":
        conv = convention
    elif _MARKUP.search(text[: found.start()]):
        conv = "thousand"
    elif all(0.0 <= v <= 1.0 for v in raw):
        conv = "unit"
    else:
        conv = "pixel"
    return ParsedBox(raw=(raw[0], raw[1], raw[2], raw[3]), convention=conv)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes in continuous coordinates
    (no +1 pixel convention); 0 when the union is empty."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area_a = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])
    area_b = max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def grounding_iou(
    text: str, reference: Box, width: float, height: float, convention: Convention = "auto"
) -> float:
    """IoU of the first box in `text` with the `reference` pixel box; 0 when no box is found."""
    parsed = parse_box(text, convention)
    return 0.0 if parsed is None else iou(parsed.to_pixels(width, height), reference)


# ---------------------------------------------------------------- counting

_COUNT_WORDS = {
    **{w: int(d) for w, d in _NUMBER_WORDS.items()},
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
    "九": 9, "十": 10,
}  # fmt: skip
_COUNT_TOKEN = re.compile(r"\d+|[A-Za-z]+|[零一二两三四五六七八九十]")


def parse_count(text: str) -> int | None:
    """The first count in `text`: digits, an English number word up to twenty, or a single
    Chinese numeral 零..十; None when there is none."""
    for tok in _COUNT_TOKEN.findall(text):
        if tok.isdigit():
            return int(tok)
        value = _COUNT_WORDS.get(tok.lower())
        if value is not None:
            return value
    return None


def count_error(text: str, reference: int) -> float:
    """|predicted count - reference|; inf when `text` has no count (fails every off-by-k)."""
    pred = parse_count(text)
    return math.inf if pred is None else float(abs(pred - reference))


def finite_mean(items: Sequence[Any]) -> float:
    """Mean of the finite numbers in `items` (None and inf, i.e. no count found, left out)."""
    vals = [float(v) for v in items if v is not None and math.isfinite(float(v))]
    return sum(vals) / len(vals) if vals else math.nan


# ---------------------------------------------------------------- POPE


def pope_answer(text: str) -> Literal["yes", "no"]:
    """POPE's reading of a free answer: the first sentence, commas removed, is "no" when it
    has the word "No", "no" or "not", else "yes" (the POPE repository's evaluate.py)."""
    first = text.split(".")[0] if "." in text else text
    words = first.replace(",", "").split(" ")
    return "no" if {"No", "no", "not"} & set(words) else "yes"


def _pairs(items: Sequence[Any]) -> list[tuple[int, int]]:
    return [(int(p), int(r)) for p, r in items]


def pope_precision(items: Sequence[Any]) -> float:
    """Precision of "yes" over (predicted_yes, reference_yes) pairs; nan with no "yes"."""
    pairs = _pairs(items)
    tp = sum(1 for p, r in pairs if p and r)
    fp = sum(1 for p, r in pairs if p and not r)
    return tp / (tp + fp) if tp + fp else math.nan


def pope_recall(items: Sequence[Any]) -> float:
    """Recall of "yes" over (predicted_yes, reference_yes) pairs; nan with no reference yes."""
    pairs = _pairs(items)
    tp = sum(1 for p, r in pairs if p and r)
    fn = sum(1 for p, r in pairs if r and not p)
    return tp / (tp + fn) if tp + fn else math.nan


def pope_f1(items: Sequence[Any]) -> float:
    """F1 of "yes" (2PR/(P+R)); 0 when nothing is right, nan when it is undefined."""
    pairs = _pairs(items)
    tp = sum(1 for p, r in pairs if p and r)
    fp = sum(1 for p, r in pairs if p and not r)
    fn = sum(1 for p, r in pairs if r and not p)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan


def pope_yes_ratio(items: Sequence[Any]) -> float:
    """Share of answers read as "yes" (POPE's bias indicator; 0.5 on its balanced splits)."""
    pairs = _pairs(items)
    return sum(p for p, _ in pairs) / len(pairs) if pairs else math.nan


# ---------------------------------------------------------------- CircularEval

LETTERS = "ABCDEFGHIJ"


def circular_rotations(options: Sequence[str], answer: int) -> list[tuple[list[str], int]]:
    """MMBench's circular passes of one question: for shift k the options move k places
    left (option k first) and the index of the right answer moves with them."""
    n = len(options)
    if not 0 <= answer < n:
        raise DataError(f"answer index {answer} outside {n} options")
    return [(list(options[k:]) + list(options[:k]), (answer - k) % n) for k in range(n)]


def circular_accuracy(items: Sequence[Any]) -> float:
    """CircularEval accuracy over (question_id, correct) pairs, one per rotation: the share of
    questions whose every rotation is answered right."""
    per_question: dict[str, bool] = {}
    for qid, correct in items:
        key = json.dumps(qid)
        per_question[key] = per_question.get(key, True) and bool(correct)
    return sum(per_question.values()) / len(per_question) if per_question else math.nan


# ---------------------------------------------------------------- catalogue

METRICS: dict[str, MetricDef] = {
    m.name: m
    for m in [
        MetricDef(
            "vqa_accuracy",
            "VQA准确率",
            "VQA v2 soft accuracy: mean over the 10 leave-one-annotator-out subsets of min(#annotators giving the normalised answer / 3, 1).",
        ),
        MetricDef(
            "anls",
            "平均归一化编辑相似度(ANLS)",
            "Average Normalised Levenshtein Similarity: best over references of 1 - edit distance / longer length, 0 when that distance is 0.5 or more.",
        ),
        MetricDef(
            "ocrbench_accuracy",
            "OCRBench准确率",
            "Share of OCRBench questions whose answer contains a reference (case-insensitive; HME100k formulas without spaces).",
            binary=True,
        ),
        MetricDef(
            "relaxed_accuracy",
            "宽松准确率(ChartQA)",
            "ChartQA relaxed accuracy: numeric answers within 5% relative error of the reference, other answers equal ignoring case.",
            binary=True,
        ),
        MetricDef(
            "grounding_iou",
            "定位交并比",
            "Intersection over union of the box parsed from the answer with the reference box (0 when no box is found).",
        ),
        MetricDef(
            "grounding_acc_at_0_5",
            "定位准确率(IoU≥0.5)",
            "Share of referring expressions whose parsed box has IoU >= 0.5 with the reference box (RefCOCO Acc@0.5).",
            binary=True,
        ),
        MetricDef(
            "count_accuracy",
            "计数准确率",
            "Share of counting questions whose first number in the answer equals the true count.",
            binary=True,
        ),
        MetricDef(
            "count_off_by_one",
            "计数误差≤1比例",
            "Share of counting questions answered within one of the true count (off-by-1 accuracy).",
            binary=True,
        ),
        MetricDef(
            "count_mae",
            "计数平均绝对误差",
            "Mean absolute difference between the answered and the true count (answers without a number excluded).",
            direction="lower",
            scale=0.0,
            statistic=finite_mean,
        ),
        MetricDef(
            "pope_accuracy",
            "POPE准确率",
            "Share of POPE yes/no object-existence questions answered right (answers read by POPE's rule).",
            binary=True,
        ),
        MetricDef(
            "pope_precision",
            "POPE精确率",
            "Precision of 'yes' answers: objects said to be present that are present.",
            statistic=pope_precision,
        ),
        MetricDef(
            "pope_recall",
            "POPE召回率",
            "Recall of 'yes': present objects the model says are present.",
            statistic=pope_recall,
        ),
        MetricDef(
            "pope_f1",
            "POPE F1值",
            "F1 of 'yes' answers, POPE's headline hallucination number.",
            statistic=pope_f1,
        ),
        MetricDef(
            "pope_yes_ratio",
            "POPE肯定回答比例",
            "Share of answers read as 'yes'; far from the split's share of present objects shows a bias.",
            statistic=pope_yes_ratio,
        ),
        MetricDef(
            "circular_accuracy",
            "循环评估准确率",
            "MMBench CircularEval: share of multiple-choice questions answered right under every circular rotation of their options.",
            statistic=circular_accuracy,
        ),
    ]
}
