"""The labeling standard's task types: namespaced names and the older names still accepted.

Canonical names are ``labeling.<type>`` (registered in `pingce.core.registry.task_types`);
``label.detection`` and the other names suites were written with before stay aliases.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DETECTION = "labeling.detection"
CLASSIFICATION = "labeling.classification"
SEGMENTATION = "labeling.segmentation"
EFFORT = "labeling.effort"
TYPES = (DETECTION, CLASSIFICATION, SEGMENTATION, EFFORT)
# older names -> canonical names
ALIASES = {
    "label.detection": DETECTION,
    "label.classification": CLASSIFICATION,
    "label.segmentation": SEGMENTATION,
    "label.effort": EFFORT,
}
# `pingce label evaluate --task NAME` and the built-in suites `labeling/NAME`
BY_SHORT_NAME = {t.split(".", 1)[1]: t for t in TYPES}


def canonical(type_name: str) -> str:
    """The namespaced name of a labeling task type (an older alias maps to its new name)."""
    return ALIASES.get(type_name, type_name)


@dataclass(frozen=True)
class LabelingTaskType:
    """What the core registry holds for one labeling task type: how an image becomes a record
    (`outcome`, in `pingce.labeling.tasks`) and how a task's records become report rows and
    sections (`report`, in `pingce.labeling.summary`), by name so that registering imports
    neither; `primary` is the task row's primary metric."""

    name: str
    primary: str
    outcome: str
    report: str

    def outcome_fn(self) -> Callable[..., Any]:
        """(params, base record data, unit payload) -> Outcome."""
        return getattr(importlib.import_module("pingce.labeling.tasks"), self.outcome)

    def report_fn(self) -> Callable[..., Any]:
        """(suite task dict, records, categories) -> (metric rows, sections, extra)."""
        return getattr(importlib.import_module("pingce.labeling.summary"), self.report)


TASK_TYPES = (
    LabelingTaskType(DETECTION, "label_f1", "detection_outcome", "detection_report"),
    LabelingTaskType(
        CLASSIFICATION, "label_cls_accuracy", "classification_outcome", "classification_summary"
    ),
    LabelingTaskType(
        SEGMENTATION, "label_seg_miou", "segmentation_outcome", "segmentation_summary"
    ),
    LabelingTaskType(EFFORT, "label_time_saved", "effort_outcome", "effort_summary"),
)


def task_type(type_name: str) -> LabelingTaskType:
    """The registered task type of a suite task's `type` (aliases accepted)."""
    from pingce.core.registry import task_types

    found = task_types.get(canonical(type_name))
    if not isinstance(found, LabelingTaskType):
        from pingce.core.errors import SpecError

        raise SpecError(
            f"task type {type_name!r} is not a labeling task type", hint=", ".join(TYPES)
        )
    return found
