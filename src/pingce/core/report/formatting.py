"""How report numbers and values read as text: shared by the Markdown and HTML renderers
and the dashboard."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pingce.core.sample_failure import FailRule

MISSING = "—"


def one_line(text: Any) -> str:
    """`text` with every run of whitespace (newlines included) folded to one space."""
    return " ".join(str(text).split())


def is_number(value: Any) -> bool:
    """True for a finite int/float (bool excluded)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def format_number(value: Any) -> str:
    """Format a metric value compactly (four significant digits); None/NaN become "—"."""
    if not is_number(value):
        return MISSING
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.4g}"


# Units that only name a score's range: printed after a value they read as clutter
# ("0.875 0-1"), so value cells and chart labels leave them out.
SCALE_ONLY_UNITS = frozenset({"", "0-1", "0–1", "0..1", "0-100", "0–100", "0..100"})


def real_unit(unit: Any) -> str:
    """`unit` folded to one line, or "" when it only names a scale ("0-1", "0-100")."""
    text = one_line(unit) if unit is not None else ""
    return "" if text.replace(" ", "") in SCALE_ONLY_UNITS else text


def unit_suffix(unit: Any) -> str:
    """ " ms" for a real unit, "" for none or a scale-only unit: appended after a value."""
    text = real_unit(unit)
    return f" {text}" if text else ""


def format_score(value: Any) -> str:
    """Format a 0..1 score with three decimals."""
    return f"{value:.3f}" if is_number(value) else MISSING


def format_estimate(value: Any, ci_low: Any = None, ci_high: Any = None, stderr: Any = None) -> str:
    """Value with its uncertainty: ``0.723 [0.69, 0.755]``, else ``0.723 ± 0.012``."""
    text = format_number(value)
    if not is_number(value):
        return text
    if is_number(ci_low) and is_number(ci_high):
        return f"{text} [{format_number(ci_low)}, {format_number(ci_high)}]"
    if is_number(stderr):
        return f"{text} ± {format_number(stderr)}"
    return text


def direction_text(direction: str) -> str:
    """Human wording of a metric direction."""
    return "lower is better" if direction == "lower" else "higher is better"


def threshold_text(threshold: Any, direction: str) -> str:
    """``≥ 0.8`` for higher-is-better thresholds, ``≤ 0.8`` for lower-is-better."""
    if not is_number(threshold):
        return MISSING
    return f"{'≤' if direction == 'lower' else '≥'} {format_number(threshold)}"


def format_plain(value: Any) -> str:
    """Format any environment/config value as short single-line text."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return format_number(value) if is_number(value) else MISSING
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={format_plain(v)}" for k, v in value.items()) or MISSING
    if isinstance(value, list | tuple):
        return ", ".join(format_plain(v) for v in value) or MISSING
    return str(value)


def sample_failed(sample: Mapping[str, Any], rules: Iterable[FailRule] | None = None) -> bool:
    """A sample counts as a failure when a score is on its failing side: `rules` (a standard's,
    from `pingce.core.sample_failure.standard_rules`), or the registered metrics' rules."""
    from pingce.core.sample_failure import registered_rules
    from pingce.core.sample_failure import sample_failed as failed

    return failed(sample.get("scores", {}), registered_rules() if rules is None else rules)


def primary_metric(task: Mapping[str, Any]) -> dict[str, Any] | None:
    """The task's primary metric entry, or None when the task did not record it."""
    return task.get("metrics", {}).get(task.get("primary_metric", ""))


def environment_rows(env: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Environment fields other than the package map, as (key, text) rows."""
    return [(str(k), format_plain(v)) for k, v in env.items() if k != "packages"]


def package_rows(env: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Installed package versions sorted by name."""
    packages = env.get("packages") or {}
    return sorted((str(k), format_plain(v)) for k, v in packages.items())


def format_cell(value: Any) -> str:
    """A section table cell as text: numbers via `format_number`, null (or NaN) as "—"."""
    return value if isinstance(value, str) else format_number(value)


def gpu_text(env: Mapping[str, Any]) -> str:
    """The run's GPUs as stored by `core.fingerprint.environment` (`gpus`: a list of
    {index, name, memory_mb}; empty when torch saw none)."""
    gpus = env.get("gpus", env.get("gpu"))
    if gpus is None:
        return MISSING
    if isinstance(gpus, list | tuple):
        if not gpus:
            return "none visible to torch"
        return ", ".join(
            f"{g.get('name', '?')} ({format_plain(g.get('memory_mb'))} MiB)"
            if isinstance(g, Mapping)
            else format_plain(g)
            for g in gpus
        )
    return format_plain(gpus)


def seed_text(doc: Mapping[str, Any]) -> str:
    """The seed the run used: the environment's `seed` (the run option), else the seed its
    standard resolved into the run settings (e.g. the llm default 1234)."""
    env = doc["run"]["environment"]
    for value in (
        env.get("seeds"),
        env.get("seed"),
        (doc["run"].get("config") or {}).get("settings", {}).get("seed"),
    ):
        if value is not None:
            return format_plain(value)
    return MISSING


def json_safe(value: Any) -> Any:
    """Copy ``value`` with NaN/±inf replaced by None, since JSON has no such numbers."""
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        # numpy scalars pass schema checks as numbers but json cannot encode them.
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
