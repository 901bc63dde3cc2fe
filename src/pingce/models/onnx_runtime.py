"""The one place pingce builds ONNX Runtime sessions.

Every user of ONNX Runtime (model loading, conversion checks, layer-by-layer comparison, the
ORT-optimised converter, the performance SUT, the detection labeler) goes through
`ort_session`, so providers, thread counts, graph optimisation and the error for a file ORT
cannot load are set the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pingce.core.errors import ModelError

Optimization = Literal["disable", "basic", "extended", "all"]
CPU = "CPUExecutionProvider"

_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}


class SessionError(ModelError):
    """ONNX Runtime could not build a session; `reason` is the first line of ORT's message."""

    def __init__(self, message: str, reason: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first non-blank line of an exception's message (ORT packs a stack into them)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return (lines[0] if lines else type(exc).__name__)[:limit]


def check_providers(providers: Sequence[str]) -> list[str]:
    """`providers` when ONNX Runtime has every one of them, else a ModelError naming the missing."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    missing = [p for p in providers if p not in available]
    if missing:
        raise ModelError(
            f"ONNX Runtime has no execution provider {', '.join(missing)}",
            hint=f"available here: {', '.join(available)}",
        )
    return list(providers)


def ort_session(
    model: str | Path | bytes,
    *,
    providers: Sequence[str] | None = None,
    threads: int | None = None,
    inter_op_threads: int | None = 1,
    optimization: Optimization | None = None,
    optimized_model_path: str | Path | None = None,
    log_severity: int = 3,
    what: str | None = None,
) -> Any:
    """An `onnxruntime.InferenceSession` for a model file (or serialized bytes).

    providers: execution providers in priority order (default CPU only); unknown ones are a
    ModelError listing what this ORT build has. threads: intra-op threads (None = ORT's
    default); inter_op_threads applies only when `threads` is set. optimization: graph
    optimisation level (None = ORT's default, i.e. all). optimized_model_path: where ORT saves
    the graph after optimisation. log_severity: 3 = errors only. A file ORT cannot load raises
    SessionError (a ModelError) "ONNX Runtime cannot load WHAT: <first line of ORT's
    message>", the first line also in its `reason`.
    """
    import onnxruntime as ort

    if optimization is not None and optimization not in _LEVELS:
        raise ModelError(
            f"unknown ONNX Runtime optimisation level {optimization!r}",
            hint=", ".join(_LEVELS),
        )
    chosen = check_providers(providers) if providers else [CPU]
    options = ort.SessionOptions()
    options.log_severity_level = log_severity
    if threads:
        options.intra_op_num_threads = threads
        if inter_op_threads is not None:
            options.inter_op_num_threads = inter_op_threads
    if optimization is not None:
        options.graph_optimization_level = getattr(
            ort.GraphOptimizationLevel, _LEVELS[optimization]
        )
    if optimized_model_path is not None:
        options.optimized_model_filepath = str(optimized_model_path)
    source = model if isinstance(model, bytes) else str(model)
    try:
        return ort.InferenceSession(source, options, providers=chosen)
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/NoSuchFile types
        name = what or ("the serialized model" if isinstance(model, bytes) else str(model))
        reason = first_line(exc)
        raise SessionError(
            f"ONNX Runtime cannot load {name}: {reason}",
            reason,
            hint="check the file with onnx.checker (pingce convert verify runs it)",
        ) from None
