"""The name -> object registries and the `pingce.plugins` entry points."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from pingce.core import registry
from pingce.core.errors import SpecError
from pingce.core.registry import PLUGIN_GROUP, Registry


def test_register_by_call_and_get() -> None:
    widgets: Registry[object] = Registry("widget")
    thing = object()
    assert widgets.register("thing", thing) is thing
    assert widgets.get("thing") is thing
    assert "thing" in widgets
    assert "other" not in widgets
    assert widgets.names() == ["thing"]


def test_register_as_decorator_keeps_the_object() -> None:
    widgets: Registry[object] = Registry("widget")

    @widgets.register("b")
    def b() -> int:
        return 2

    @widgets.register("a")
    class A:
        pass

    assert b() == 2  # the decorator returns the function itself
    assert widgets.get("a") is A
    assert widgets.names() == ["a", "b"]
    assert [name for name, _ in widgets.items()] == ["a", "b"]


def test_registering_the_same_object_twice_is_idempotent() -> None:
    widgets: Registry[object] = Registry("widget")
    thing = object()
    widgets.register("thing", thing)
    widgets.register("thing", thing)
    assert widgets.names() == ["thing"]


def test_duplicate_name_is_refused() -> None:
    widgets: Registry[object] = Registry("widget")
    first = object()
    widgets.register("thing", first)
    with pytest.raises(ValueError, match="widget 'thing' is already registered"):
        widgets.register("thing", object())
    assert widgets.get("thing") is first


def test_unknown_name_is_a_spec_error_with_the_known_names() -> None:
    widgets: Registry[object] = Registry("widget")
    widgets.register("bolt", 1)
    widgets.register("anchor", 2)
    with pytest.raises(SpecError) as info:
        widgets.get("nut")
    assert info.value.message == "unknown widget 'nut'"
    assert info.value.hint == "known: anchor, bolt"
    assert info.value.one_line() == "unknown widget 'nut' (hint: known: anchor, bolt)"


def test_unknown_name_in_an_empty_registry() -> None:
    with pytest.raises(SpecError) as info:
        Registry("widget").get("x")
    assert info.value.hint == "known: none"


def test_entry_point_group_is_installed() -> None:
    eps = list(entry_points(group=PLUGIN_GROUP))
    assert eps, f"no {PLUGIN_GROUP} entry points: is pingce installed (pip install -e .)?"
    for ep in eps:
        assert callable(ep.load())


def test_plugins_load_the_llm_standard() -> None:
    registry.load_plugins()
    llm = registry.standards.get("llm")
    assert llm.id == "llm"
    assert "GB/T 45288.2" in llm.title
    assert "llm" in registry.standards.names()
    # The llm plugin also brings its backend, task types, metrics, filters and loaders.
    assert "hf" in registry.backends
    for task_type in ("multiple_choice", "generative", "perplexity"):
        assert task_type in registry.task_types
    for metric in ("acc", "acc_norm", "exact_match", "bleu4", "rouge_l", "bits_per_byte"):
        assert metric in registry.metrics
    assert "jsonl" in registry.loaders
    assert registry.filters.names()
    indicator_ids = {ind.id for ind in llm.indicators()}
    assert {"overall_score", "acc", "tokens_per_second"} <= indicator_ids


def test_load_plugins_is_idempotent() -> None:
    registry.load_plugins()
    before = {name: registry.standards.get(name) for name in registry.standards.names()}
    registry.load_plugins()
    after = {name: registry.standards.get(name) for name in registry.standards.names()}
    assert before == after


def test_has_values_and_has_loaded() -> None:
    widgets: Registry[int] = Registry("widget")
    widgets.register("b", 2)
    widgets.register("a", 1)
    assert widgets.has("a") and not widgets.has("c")
    assert widgets.has_loaded("b") and not widgets.has_loaded("c")
    assert widgets.values() == [1, 2]  # name order, like names() and items()


def test_alias_resolves_but_is_not_listed() -> None:
    types: Registry[str] = Registry("task type")
    types.register("llm.multiple_choice", "MC")
    types.alias("multiple_choice", "llm.multiple_choice")
    assert types.get("multiple_choice") == "MC"
    assert "multiple_choice" in types and types.has("multiple_choice")
    assert types.canonical("multiple_choice") == "llm.multiple_choice"
    assert types.names() == ["llm.multiple_choice"]
    assert types.values() == ["MC"]
    types.alias("multiple_choice", "llm.multiple_choice")  # the same alias again is fine
    with pytest.raises(ValueError, match="already points to"):
        types.alias("multiple_choice", "llm.other")
    with pytest.raises(ValueError, match="cannot also be an alias"):
        types.alias("llm.multiple_choice", "x")
    dangling: Registry[str] = Registry("task type")
    dangling.alias("old", "missing")
    assert "old" not in dangling  # an alias of nothing registered is not there
    with pytest.raises(SpecError, match="unknown task type 'old'"):
        dangling.get("old")


def test_unavailable_standard_is_named_with_its_install_hint() -> None:
    name = "toy-unavailable"
    if not registry.unavailable.has_loaded(name):
        registry.unavailable.register(
            name, registry.Unavailable(name, "toylib", "pip install 'pingce[toy]'")
        )
    with pytest.raises(SpecError) as info:
        registry.standards.get(name)
    assert info.value.one_line() == (
        "standard 'toy-unavailable' is unavailable: module 'toylib' is not installed "
        "(hint: pip install 'pingce[toy]')"
    )


def test_get_loaded_does_not_load_plugins() -> None:
    widgets: Registry[int] = Registry("widget")
    widgets.register("new", 1)
    widgets.alias("old", "new")
    assert widgets.get_loaded("old") == 1 and widgets.get_loaded("new") == 1
    assert widgets.get_loaded("absent") is None
