"""Normalisation of entity strings and quantities; expected values are written out by hand."""

from __future__ import annotations

import pytest

from pingce.kg.normalize import entity_key, parse_quantity, relation_text_key, tokens


@pytest.mark.parametrize(
    "variants",
    [
        ["1600 ℃", "1600°C", "1600 degC", "1600 °C", "１６００℃", "1600 Cel", "1600摄氏度"],
        ["1.0～1.8 m/min", "1.0-1.8 m/min", "1–1.8 m/min", "1.0 to 1.8 m/min", "1.0~1.8米/分钟"],
        ["不大于0.045%", "at most 0.045 %", "≤0.045%", "≤ 0.045 wt%"],
        ["2ppm以下", "≤2 ppm"],
        ["Hot Metal", "hot  metal", "hot_metal", "ＨＯＴ ＭＥＴＡＬ", "hotmetal"],
    ],
)
def test_equivalent_spellings_share_one_key(variants: list[str]) -> None:
    assert len({entity_key(v) for v in variants}) == 1, {v: entity_key(v) for v in variants}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1873 K", "1600 °C"),  # units are respelled, never converted
        ("below 2 ppm", "2ppm以下"),  # '<' and '≤' stay different
        ("1640–1680 °C", "1640 °C"),
        ("DC01", "DC1"),  # a grade's digits are not a number
    ],
)
def test_different_values_stay_different(a: str, b: str) -> None:
    assert entity_key(a) != entity_key(b)


def test_quantity_parts() -> None:
    q = parse_quantity("约1650～1680℃")
    assert q is not None and (str(q.low), str(q.high), q.comparator, q.unit, q.ucum) == (
        "1650",
        "1680",
        "",
        "°C",
        "Cel",
    )
    q = parse_quantity("at least 1080 MPa")
    assert q is not None and q.canonical() == "≥1080 MPa"
    assert parse_quantity("−20 °C").canonical() == "-20 °C"  # type: ignore[union-attr]
    assert parse_quantity("sinter") is None


def test_relation_keys_and_tokens() -> None:
    assert (
        relation_text_key("hasDefect")
        == relation_text_key("has defect")
        == relation_text_key("HAS_DEFECT")
    )
    assert tokens("高炉 Hot-metal 1600 ℃") == ["高", "炉", "hot", "metal", "1600", "°", "c"]
