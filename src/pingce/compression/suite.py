"""The compression test suite for given variant labels, from the built-in YAML template
`compression/test` (`suites/test.yaml`): its three tasks repeated for each label, with the
budget, batch sizes, repeats, threads and sample limit the caller gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pingce.compression.tasks import DEFAULT_BUDGET
from pingce.core.spec import Suite, load_suite, suite_from_dict

TEMPLATE = "compression/test"
TEMPLATE_LABEL = "compressed"


def compression_suite(
    labels: list[str],
    *,
    budget: float = DEFAULT_BUDGET,
    batch_sizes: list[int] | None = None,
    repeats: int = 20,
    threads: int = 1,
    limit: int | None = None,
) -> dict[str, Any]:
    """Three tasks per variant: size, accuracy, latency (a dict for `suite_from_dict`)."""
    base = load_suite(TEMPLATE).spec.model_dump(mode="json", exclude_defaults=True)
    fill = {
        "accuracy": {"budget": budget, **({"limit": limit} if limit else {})},
        "latency": {"batch_sizes": batch_sizes or [1, 32], "repeats": repeats, "threads": threads},
    }
    tasks: list[dict[str, Any]] = []
    for label in labels:
        slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in label)
        for template in base["tasks"]:
            part = template["id"].removeprefix(f"{TEMPLATE_LABEL}.")
            tasks.append(
                {
                    **template,
                    "id": f"{slug}.{part}",
                    "variant": label,
                    "title": f"{label}: {part}",
                    **fill.get(part, {}),
                }
            )
    return {**base, "tasks": tasks}


def built_suite(labels: list[str], source: str, **params: Any) -> Suite:
    """`compression_suite(labels, **params)` validated, recorded as coming from `source`."""
    return suite_from_dict(compression_suite(labels, **params), source, Path.cwd())
