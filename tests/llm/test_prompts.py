"""Prompt templates (Jinja2, StrictUndefined) and deterministic few-shot selection."""

from __future__ import annotations

import pytest

from pingce.core.errors import DataError, SpecError
from pingce.llm.prompts import render, select_fewshot, template_fields

WHERE = "data/test.jsonl: row 3 (id q3)"


def test_render_fills_fields_and_keeps_text_verbatim() -> None:
    row = {"question": "1 < 2 & 3 > 2?", "context": ["甲", "乙"]}
    assert render("Q: {{ question }}\nA:", row, WHERE) == "Q: 1 < 2 & 3 > 2?\nA:"  # no escaping
    assert (
        render("{{ context | join('\\n') }}\n", row, WHERE) == "甲\n乙\n"
    )  # trailing newline kept


def test_missing_field_names_the_row_and_field() -> None:
    with pytest.raises(DataError) as info:
        render("Q: {{ question }} {{ choices }}", {"question": "x"}, WHERE)
    assert info.value.message.startswith(WHERE)
    assert "'choices' is undefined" in info.value.message
    # Attribute access on a present field is strict too.
    with pytest.raises(DataError) as info:
        render("{{ meta.source }}", {"meta": {}}, WHERE)
    assert info.value.message.startswith(WHERE)
    assert "source" in info.value.message


def test_strict_undefined_also_in_filters_and_conditions() -> None:
    with pytest.raises(DataError, match="'missing' is undefined"):
        render("{{ missing | upper }}", {}, WHERE)
    with pytest.raises(DataError, match="'missing' is undefined"):
        render("{% if missing %}x{% endif %}", {}, WHERE)


def test_render_type_errors_are_data_errors() -> None:
    with pytest.raises(DataError, match=r"row 3 \(id q3\): cannot render template"):
        render("{{ n + 'a' }}", {"n": 1}, WHERE)


@pytest.mark.parametrize("source", ["{{ question ", "{% if x %}no end", "{{ a | }}"])
def test_syntax_error_is_a_spec_error(source: str) -> None:
    with pytest.raises(SpecError) as info:
        render(source, {"question": "x", "x": 1, "a": 1}, WHERE)
    assert repr(source) in info.value.message
    assert "line 1" in info.value.message


def test_template_fields() -> None:
    assert template_fields("{{ a }} {{ b | join(c) }} {% for x in d %}{{ x }}{% endfor %}") == {
        "a",
        "b",
        "c",
        "d",
    }


POOL = [{"id": f"p{i}", "text": f"example {i}"} for i in range(20)]


def test_select_fewshot_is_deterministic_per_seed_and_sample() -> None:
    a = select_fewshot(POOL, 3, seed=1234, exclude_id="x")
    assert a == select_fewshot(POOL, 3, seed=1234, exclude_id="x")
    assert len(a) == 3
    assert len({r["id"] for r in a}) == 3  # without replacement
    assert all(r in POOL for r in a)
    # A different seed or another sample draws a different set (over several samples at least).
    other_seed = [select_fewshot(POOL, 3, 99, f"s{i}") for i in range(5)]
    same_seed = [select_fewshot(POOL, 3, 1234, f"s{i}") for i in range(5)]
    assert other_seed != same_seed
    assert len({tuple(r["id"] for r in s) for s in same_seed}) > 1
    assert select_fewshot(list(POOL), 3, 1234, "x") == a  # a copy of the pool gives the same


def test_select_fewshot_never_returns_the_sample_itself() -> None:
    for row in POOL:
        shots = select_fewshot(POOL, 19, seed=7, exclude_id=row["id"])
        assert row not in shots
        assert len(shots) == 19
    # Integer ids compare as text.
    pool = [{"n": i} for i in range(4)]
    for i in range(4):
        assert {"n": i} not in select_fewshot(pool, 3, 0, str(i), id_field="n")


def test_select_fewshot_zero_and_too_small_pool() -> None:
    assert select_fewshot(POOL, 0, 1, "p1") == []
    assert select_fewshot(POOL[:3], 3, 1, None) != []
    with pytest.raises(DataError, match="3-shot asked for but the few-shot pool has only 2 rows"):
        select_fewshot(POOL[:3], 3, 1, "p0")
    with pytest.raises(DataError, match="only 0 rows"):
        select_fewshot([], 1, 1, None)
