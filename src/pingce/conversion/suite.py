"""The conversion suites filled in from command options: `conversion/verify` and
`conversion/zoo` (`suites/*.yaml`). Each task keeps the template's id, type and title and gets
the parameters the caller gives (a task's own defaults apply to the rest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pingce.conversion import numerics as nm
from pingce.core.spec import Suite, load_suite, suite_from_dict


def _template(name: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The suite `name` as a dict, and its tasks by id reduced to id, type and titles."""
    spec = load_suite(name).spec.model_dump(mode="json", exclude_defaults=True)
    keep = ("id", "type", "title", "title_zh")
    tasks = {t["id"]: {k: t[k] for k in keep if k in t} for t in spec["tasks"]}
    return spec, tasks


def verify_suite(
    *,
    rtol: float = nm.DEFAULT_RTOL,
    atol: float = nm.DEFAULT_ATOL,
    batch_size: int = 32,
    limit: int | None = None,
    batch_sizes: list[int] | None = None,
    seq_lens: list[int] | None = None,
    perf_batches: list[int] | None = None,
    repeats: int = 20,
    threads: int = 1,
    layer_samples: int = 4,
) -> dict[str, Any]:
    """The suite `pingce convert verify` runs (a dict for `suite_from_dict`); the performance
    task only when `perf_batches` are given."""
    spec, t = _template("conversion/verify")
    tol = {"rtol": rtol, "atol": atol}
    tasks: list[dict[str, Any]] = [
        t["checks"],
        {**t["numerics"], **tol, "batch_size": batch_size, **({"limit": limit} if limit else {})},
        {
            **t["shapes"],
            **tol,
            **({"batch_sizes": batch_sizes} if batch_sizes else {}),
            **({"seq_lens": seq_lens} if seq_lens else {}),
        },
        {**t["layers"], **tol, "samples": layer_samples},
    ]
    if perf_batches:
        tasks.append(
            {
                **t["performance"],
                "batch_sizes": perf_batches,
                "repeats": repeats,
                "threads": threads,
            }
        )
    return {**spec, "tasks": tasks}


def zoo_suite(exporter: str, opset: int, models: list[str] | None = None) -> dict[str, Any]:
    """The suite `pingce convert zoo` runs: one zoo task for `exporter` at `opset`."""
    spec, t = _template("conversion/zoo")
    (task,) = t.values()
    task = {
        **task,
        "id": f"zoo-{exporter}",
        "title": f"Model zoo ({exporter} exporter)",
        "exporter": exporter,
        "opset": opset,
        **({"models": models} if models else {}),
    }
    return {**spec, "tasks": [task]}


def built(suite: dict[str, Any], source: str, base_dir: Path | None = None) -> Suite:
    """A filled-in suite dict validated, recorded as coming from `source`."""
    return suite_from_dict(suite, source, base_dir or Path.cwd())
