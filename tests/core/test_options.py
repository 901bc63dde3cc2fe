"""Typed run options (pingce.core.options): only a standard's own options are stored."""

from __future__ import annotations

import pytest

from pingce.core.errors import SpecError
from pingce.core.options import DEFAULT_SEED, CommonOptions, resolve_options, seed_of


class ToyOptions(CommonOptions):
    depth: int = 3


class Typed:
    id = "toy"
    options_model = ToyOptions


class Untyped:
    id = "old"


def test_seed_of_options_and_config() -> None:
    assert DEFAULT_SEED == 1234
    assert seed_of({}) == DEFAULT_SEED
    assert seed_of({"seed": 7}) == 7
    assert seed_of({"options": {"seed": 9}}) == 9
    assert seed_of({"options": {}}) == DEFAULT_SEED
    assert seed_of({"options": {"seed": None}}) == DEFAULT_SEED


def test_only_the_models_fields_are_kept_in_the_given_order() -> None:
    given = {"device": "auto", "depth": 5, "seed": 1, "num_fewshot": None, "limit": 2}
    assert resolve_options(Typed(), given) == {"depth": 5, "seed": 1, "limit": 2}
    assert list(resolve_options(Typed(), given)) == ["depth", "seed", "limit"]
    # a standard without a model keeps everything (the old behaviour)
    assert resolve_options(Untyped(), given) == given


def test_an_explicit_option_the_standard_lacks_is_an_error() -> None:
    with pytest.raises(SpecError) as info:
        resolve_options(Typed(), {"num_fewshot": 2, "depth": 1}, explicit={"num_fewshot"})
    assert info.value.one_line() == (
        "option(s) num_fewshot do not apply to standard 'toy' "
        "(hint: its options: demo, depth, limit, seed)"
    )


def test_bad_values_are_spec_errors_naming_the_field() -> None:
    with pytest.raises(SpecError, match="depth"):
        resolve_options(Typed(), {"depth": "deep"})
    assert ToyOptions.of({"depth": "4", "other": 1}).depth == 4  # extra keys ignored on read
    assert ToyOptions.of({}).seed == DEFAULT_SEED
