"""Typed run options: the options every standard shares and each standard's own model.

A run's options are stored in its config and enter its config hash, so they must hold only
what can change the standard's results. A standard declares its options as a pydantic model
(a subclass of `CommonOptions`) on its standard object:

    class KgOptions(CommonOptions):
        owlrl_limit: int = 5000

    class KgStandard:
        options_model = KgOptions

`resolve_options` (called by `pingce.core.run.execute_run` for every run) keeps only the
fields of that model, checks them, and refuses an option the user set explicitly that the
standard does not have. The standard reads them typed: `KgOptions.of(options)`. A standard
without `options_model` keeps every option it is given (the old, untyped behaviour).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from pingce.core.errors import SpecError
from pingce.core.seed import DEFAULT_SEED, seed_of

__all__ = [
    "DEFAULT_SEED",
    "CommonOptions",
    "options_model_of",
    "resolve_options",
    "seed_of",
]


class CommonOptions(BaseModel):
    """Options every standard accepts. Subclass it for a standard's own options.

    Unknown keys are ignored when reading (`of`), so a stored config from before a standard
    declared its model still reads; `resolve_options` is where unknown keys are refused.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    seed: int = DEFAULT_SEED
    limit: int | None = None
    demo: bool = False

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> Self:
        """The typed options of a run from its options dict (bad values: SpecError)."""
        try:
            return cls.model_validate(dict(options))
        except ValidationError as exc:
            from pingce.core.spec import format_validation_error

            raise SpecError(format_validation_error("options", exc, cls)) from None


def options_model_of(standard: Any) -> type[CommonOptions] | None:
    """The standard's options model, or None when it declares none."""
    model = getattr(standard, "options_model", None)
    if model is None:
        return None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{standard!r}.options_model must be a pydantic model class")
    return model  # type: ignore[return-value]


def resolve_options(
    standard: Any, options: Mapping[str, Any], explicit: Iterable[str] = ()
) -> dict[str, Any]:
    """The options a run of `standard` stores (and hashes).

    With an options model: only its fields are kept (in the order given), their values are
    checked by the model, and a key in `explicit` (options the user set, e.g. from command-line
    flags) that the model does not have is a SpecError naming it. Without one: `options`
    unchanged.
    """
    model = options_model_of(standard)
    if model is None:
        return dict(options)
    fields = model.model_fields
    unknown = sorted(k for k in explicit if k not in fields and k in options)
    if unknown:
        sid = getattr(standard, "id", "?")
        raise SpecError(
            f"option(s) {', '.join(unknown)} do not apply to standard {sid!r}",
            hint=f"its options: {', '.join(sorted(fields))}",
        )
    kept = {k: v for k, v in options.items() if k in fields}
    model.of(kept)  # values are checked; what is stored is what was given
    return kept
