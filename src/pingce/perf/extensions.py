"""Task types beyond inference scenarios: LLM serving (`serve`) and training (`train`)."""

from __future__ import annotations

from typing import Any

from pingce.perf.serve.task import SERVE_METRICS, ServeTask, summarize_serve

EXTRA_TASKS: dict[str, Any] = {"serve": ServeTask}
_SUMMARIZERS: dict[str, Any] = {"serve": summarize_serve}
_METRICS: list[Any] = list(SERVE_METRICS)

try:
    from pingce.perf.train.task import TRAIN_METRICS, TrainTask, summarize_train

    EXTRA_TASKS["train"] = TrainTask
    _SUMMARIZERS["train"] = summarize_train
    _METRICS += TRAIN_METRICS
except ImportError:  # pragma: no cover - training part absent
    pass


def extra_metrics() -> list[Any]:
    return list(_METRICS)


def summarize_task(spec: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    return _SUMMARIZERS[spec["type"]](spec, records)
