"""Answer filters on realistic model outputs (English and Chinese), pipelines and errors."""

from __future__ import annotations

import pytest

from pingce.core import registry
from pingce.core.errors import SpecError
from pingce.llm.filters import (
    INVALID,
    boxed,
    build_pipeline,
    first_line,
    first_number,
    last_number,
    lowercase,
    option_letter,
    regex,
    strip,
    take_until,
)


@pytest.fixture(autouse=True)
def _no_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Look filters up without loading entry-point plugins: these are unit tests of this
    module, independent of the standards other modules register."""
    monkeypatch.setattr(registry, "_plugins_loaded", True)


def test_filters_are_registered() -> None:
    for name in ["regex", "last_number", "first_number", "option_letter", "boxed", "strip",
                 "lowercase", "first_line", "take_until"]:  # fmt: skip
        assert name in registry.filters
    assert registry.filters.get("boxed") is boxed


# --------------------------------------------------------------------------------------------
# regex


@pytest.mark.parametrize(
    ("params", "text", "expected"),
    [
        ({"pattern": r"answer is (\d+)"}, "I think the answer is 42. Yes.", "42"),
        ({"pattern": r"#### (\-?[0-9\.\,]+)"}, "48/2 = 24\n#### 24", "24"),
        ({"pattern": r"答案[是为:：]\s*(\S+?)[。，]"}, "经过计算，答案是12。", "12"),
        ({"pattern": r"(\d+)"}, "1 then 2 then 3", "1"),
        ({"pattern": r"(\d+)", "select": "last"}, "1 then 2 then 3", "3"),
        ({"pattern": r"(\w+)=(\d+)", "group": 2}, "x=1, y=2", "1"),
        ({"pattern": r"(\w+)=(\d+)", "group": 0, "select": "last"}, "x=1, y=2", "y=2"),
        ({"pattern": r"\d+"}, "abc 77 def", "77"),  # no groups: the whole match
        ({"pattern": r"answer is (\d+)"}, "I cannot answer.", INVALID),
        ({"pattern": r"answer is (\d+)", "fallback": ""}, "no idea", ""),
        # matches where the group did not take part are skipped
        ({"pattern": r"(?:x|answer: (\w))", "select": "last"}, "answer: B then x", "B"),
    ],
)
def test_regex(params: dict, text: str, expected: str) -> None:
    assert regex(**params)(text) == expected


def test_regex_errors() -> None:
    with pytest.raises(SpecError, match=r"invalid pattern '\(unclosed'"):
        regex(pattern="(unclosed")
    with pytest.raises(SpecError, match="select"):
        regex(pattern="(a)", select="middle")
    with pytest.raises(SpecError, match="no group 2"):
        regex(pattern="(a)", group=2)
    with pytest.raises(SpecError, match="non-negative integer"):
        regex(pattern="(a)", group="1")
    with pytest.raises(SpecError, match="pattern"):
        regex(pattern=5)


# --------------------------------------------------------------------------------------------
# numbers


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("Janet has 16 eggs. She eats 3 and bakes with 4. 16 - 3 - 4 = 9. The answer is 9.",
         "16", "9"),
        ("The total cost is $1,234.50.", "1234.5", "1234.5"),
        ("It went from -5 to +7 degrees.", "-5", "7"),
        ("She paid 3.50 dollars, then 4.0 more.", "3.5", "4"),
        ("答案是１２３。", "123", "123"),
        ("温度为－３度", "-3", "-3"),
        ("共有1，000，000人", "1000000", "1000000"),
        ("The result is −4.00", "-4", "-4"),
        ("pages 2-3", "2", "3"),
        ("x = 1,000,000.", "1000000", "1000000"),
        ("1,2345", "1", "2345"),  # not a thousands grouping
        ("Add .5 cups, then 007 spoons", "0.5", "7"),
        ("The answer is 0.0, i.e. -0", "0", "0"),
        ("He scored 85% on 2 tests", "85", "2"),
        ("第3题的答案是42", "3", "42"),
        ("No numbers here.", INVALID, INVALID),
        ("", INVALID, INVALID),
    ],
)  # fmt: skip
def test_numbers(text: str, first: str, last: str) -> None:
    assert first_number()(text) == first
    assert last_number()(text) == last


def test_number_fallback() -> None:
    assert last_number(fallback="none")("nothing") == "none"
    assert first_number(fallback="")("nothing") == ""


# --------------------------------------------------------------------------------------------
# option letters


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B", "B"),
        ("(B)", "B"),
        ("B.", "B"),
        (" C) Paris", "C"),
        ("D: none of the above", "D"),
        ("Answer: B", "B"),
        ("The answer is (C)", "C"),
        ("The correct answer is option D.", "D"),
        ("Final answer: [A]", "A"),
        ("the answer is: b", "B"),
        ("答案是B", "B"),
        ("答案：C", "C"),
        ("选 D", "D"),
        ("正确答案为（A）。", "A"),
        ("正确选项是 C", "C"),
        ("故选：A", "A"),
        ("分析：A项错误，B项也不对，所以答案是C。", "C"),
        ("Ｂ", "B"),
        # an explicit phrase beats a leading article "A" and earlier letters
        ("A cat is on the mat, so the answer is B.", "B"),
        ("B. Because option A is wrong.", "B"),
        ("Option A is wrong; option B is wrong too. The answer is D.", "D"),
        ("A is correct because the others are wrong.", "A"),
        # no phrase, no leading option: the last standalone letter
        ("I think B is right.", "B"),
        ("我认为B正确", "B"),
        ("Let me compare A and C. Overall C", "C"),
        # nothing usable
        ("A cat is on the mat.", INVALID),
        ("The answer is a dog.", INVALID),
        ("I don't know", INVALID),
        ("", INVALID),
        ("E", INVALID),
    ],
)
def test_option_letter(text: str, expected: str) -> None:
    assert option_letter()(text) == expected


def test_option_letter_custom_letters_and_fallback() -> None:
    f = option_letter(letters="ABCDEFGHIJ", fallback="?")
    assert f("The answer is (J).") == "J"
    assert f("I believe the answer is H") == "H"  # "I believe": pronoun, not option I
    assert f("I") == "I"
    assert f("nothing") == "?"
    assert option_letter(letters="AB")("答案是C") == INVALID


@pytest.mark.parametrize("letters", ["", "abc", "AAB", "A1", 3])
def test_option_letter_rejects_bad_letters(letters: object) -> None:
    with pytest.raises(SpecError, match="letters"):
        option_letter(letters=letters)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# boxed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"The area is $\boxed{12}$.", "12"),
        (r"So $x = \boxed{\frac{1}{2}}$", r"\frac{1}{2}"),
        (r"First \boxed{1}, corrected: \boxed{ 2 }", "2"),
        (r"\fbox{x^{2}+1}", "x^{2}+1"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),
        (r"\boxed {7}", "7"),
        (r"答案为 $\boxed{\dfrac{\sqrt{3}}{2}}$。", r"\dfrac{\sqrt{3}}{2}"),
        (r"\boxed{3} ... then truncated \boxed{4", "3"),  # unclosed last box skipped
        (r"\boxedx{5}", INVALID),
        ("The answer is 5.", INVALID),
    ],
)
def test_boxed(text: str, expected: str) -> None:
    assert boxed()(text) == expected


# --------------------------------------------------------------------------------------------
# simple filters


def test_simple_filters() -> None:
    assert strip()("  B \n") == "B"
    assert lowercase()("The ANSWER") == "the answer"
    assert first_line()("\n\n  Paris\nBecause ...") == "  Paris"
    assert first_line()("Paris") == "Paris"
    assert first_line()(" \n\t\n") == ""
    assert take_until(stops=["\n\n", "Question:"])("42\nok\n\nQuestion: next") == "42\nok"
    assert take_until(stops=["Q:", "\n"])("12 Q: more\nlines") == "12 "
    assert take_until(stops="。")("北京。上海。") == "北京"
    assert take_until(stops=["zzz"])("unchanged") == "unchanged"


@pytest.mark.parametrize("stops", [[], [""], ["a", 1], None])
def test_take_until_rejects_bad_stops(stops: object) -> None:
    with pytest.raises(SpecError, match="take_until"):
        take_until(stops=stops)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# pipelines


def test_pipeline_composes_in_order() -> None:
    text = "  Let me think.\nThe answer is 1,234.\n\nQuestion: what is 5+5?"
    assert build_pipeline(["strip", "first_line"])(text) == "Let me think."
    assert (
        build_pipeline([{"name": "take_until", "stops": ["Question:"]}, "last_number"])(text)
        == "1234"
    )
    assert build_pipeline(["last_number"])(text) == "5"  # without the cut, the last is 5
    # order matters: lowercase before a case-sensitive regex
    specs = [{"name": "regex", "pattern": r"answer is (\w+)"}, "lowercase"]
    assert build_pipeline(specs)("The answer is PARIS") == "paris"
    assert build_pipeline(list(reversed(specs)))("The answer is PARIS") == "paris"
    assert build_pipeline(list(reversed(specs)))("The ANSWER IS PARIS") == "paris"
    assert build_pipeline(specs)("The ANSWER IS PARIS") == "[invalid]"
    # a fallback flows on through later filters
    assert build_pipeline([{"name": "boxed", "fallback": "NONE"}, "lowercase"])("x") == "none"


def test_pipeline_chinese() -> None:
    pipe = build_pipeline(["strip", {"name": "option_letter", "letters": "ABCD"}])
    assert pipe("\n 解析：A、B均错误。\n答案：D\n") == "D"
    pipe = build_pipeline([{"name": "regex", "pattern": r"答案[是为:：]\s*(.+)"}, "last_number"])
    assert pipe("小明有3个苹果，又买了5个。答案是：共８个") == "8"


def test_empty_pipeline_and_single_spec() -> None:
    assert build_pipeline([])(" x ") == " x "
    assert build_pipeline("strip")(" x ") == "x"
    assert build_pipeline({"name": "lowercase"})("X") == "x"


def test_pipeline_errors() -> None:
    with pytest.raises(SpecError, match="unknown answer filter 'no_such'") as info:
        build_pipeline(["strip", "no_such"])
    assert "regex" in (info.value.hint or "")
    with pytest.raises(SpecError, match=r"filter 'regex': bad parameters") as info:
        build_pipeline([{"name": "regex", "patern": "x"}])
    assert "pattern" in (info.value.hint or "")
    with pytest.raises(SpecError, match="filter 'regex'"):
        build_pipeline(["regex"])  # missing required pattern
    with pytest.raises(SpecError, match="filter 'strip': bad parameters"):
        build_pipeline([{"name": "strip", "chars": "x"}])
    with pytest.raises(SpecError, match="invalid pattern"):
        build_pipeline([{"name": "regex", "pattern": "[a-"}])
    with pytest.raises(SpecError, match="no 'name'"):
        build_pipeline([{"pattern": "x"}])
    with pytest.raises(SpecError, match="not int"):
        build_pipeline([3])  # type: ignore[list-item]
    # every error is one line
    try:
        build_pipeline([{"name": "regex", "group": 1}])
    except SpecError as exc:
        assert "\n" not in exc.one_line()
