"""Running one labeling task through the shared pipeline: the built-in one-task suites
(`suites/<task>.yaml`, names `labeling/<task>`) with the caller's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pingce.core.errors import SpecError
from pingce.labeling.task_types import BY_SHORT_NAME

SUITES = Path(__file__).resolve().parent / "suites"
TASKS = tuple(BY_SHORT_NAME)  # detection, classification, segmentation, effort


def label_suite(
    task: str, gold: str | None = None, *, iou: float = 0.5, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The built-in suite `labeling/<task>` as a dict, its task set to `iou` and `extra`.

    `gold` is not written into the suite: it is the run option `gold` (`evaluate_labels`)."""
    if task not in BY_SHORT_NAME:
        raise SpecError(f"--task must be one of {', '.join(TASKS)}, got {task!r}")
    # pingce's own file (not user input): plain safe_load
    data = yaml.safe_load((SUITES / f"{task}.yaml").read_text(encoding="utf-8"))
    data["tasks"][0].update(iou_threshold=iou, **(extra or {}))
    return data


def labeling_options(
    gold: str, *, gold_format: str = "auto", images: Path | None = None, threads: int | None = None
) -> dict[str, Any]:
    """The run options of a labeling run (`pingce.labeling.options.LabelingOptions`)."""
    options: dict[str, Any] = {
        "gold": str(Path(gold).resolve()),
        "gold_format": gold_format,
        "images": str(Path(images).resolve()) if images else None,
    }
    if threads:
        options["threads"] = threads
    return options


def evaluate_labels(
    store: Any,
    subject: str,
    gold: str,
    task: str,
    *,
    gold_format: str = "auto",
    images: Path | None = None,
    iou: float = 0.5,
    task_extra: dict[str, Any] | None = None,
    show_progress: bool = True,
    threads: int | None = None,
) -> str:
    """Run one labeling task through the shared pipeline; returns the run id."""
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.spec import suite_from_dict

    if not 0 < iou <= 1:
        raise SpecError(f"--iou must be in (0, 1], got {iou}")
    suite = suite_from_dict(
        label_suite(task, iou=iou, extra=task_extra), f"pingce label ({task})", Path.cwd()
    )
    options = labeling_options(gold, gold_format=gold_format, images=images, threads=threads)
    request = RunRequest(suite=suite, subject=subject, options=options)
    return execute_run(store, request, show_progress=show_progress)
