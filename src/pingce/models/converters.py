"""Converters: torch → ONNX (dynamo or TorchScript exporter), ONNX opset conversion, and the
ONNX Runtime-optimised graph.

Every converter writes one self-contained file atomically (a temp file renamed into place) and
returns a `ConversionResult`; a model that cannot be converted raises `ConversionFailed` with
the exporter's first meaningful line, which callers turn into a failure row, never a crash.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pingce.core.errors import PingceError
from pingce.models.loaded import LoadedModel, OnnxModel, TorchModel

Exporter = Literal["dynamo", "torchscript"]
DEFAULT_OPSET = 18
# The dynamo exporter specialises a dimension whose example size is 1 (it cannot tell 1 from
# "any"), and then fails or fixes the size; an example batch of 2 keeps the batch axis dynamic.
EXAMPLE_BATCH = 2
EXAMPLE_SEQ = 8


class ConversionFailed(PingceError):
    """The converter could not convert this model (recorded as a failed conversion)."""


@dataclass
class ConversionResult:
    path: Path
    converter: str
    seconds: float
    opset: int | None
    details: dict[str, Any] = field(default_factory=dict)


def _atomic_target(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    return out.with_name(f".{out.name}.tmp{os.getpid()}")


def _first_error_line(exc: BaseException) -> str:
    """The most telling line of an exporter error (skipping banners and stack dumps)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for ln in lines:
        low = ln.lower()
        if any(
            k in low for k in ("unsupported", "no onnx function", "not supported", "unrecognized")
        ):
            return ln[:300]
    return (lines[0] if lines else type(exc).__name__)[:300]


def _unsupported_ops(exc: BaseException, model: Any) -> list[str]:
    """Custom (non-aten) operators the module calls, which is why an export usually fails."""
    import re

    text = str(exc)
    names = {m.replace(".", "::", 1) for m in re.findall(r"op='([\w.]+)'", text)}
    for token in text.replace("(", " ").replace(")", " ").replace(",", " ").split():
        if "::" in token and not token.startswith(("aten::", "prim::", "onnx::")):
            names.add(token.strip(".'\"`"))
    return sorted(names)


def source_format(model: TorchModel) -> str:
    """eager | torchscript | export: which exporters can take the model depends on it."""
    import torch

    if isinstance(model.module, torch.jit.ScriptModule):
        return "torchscript"
    return "export" if model.ref.kind == "export" else "eager"


def default_exporter(model: LoadedModel) -> Exporter:
    """The exporter that can take the source: TorchScript for a TorchScript archive (the dynamo
    exporter refuses ScriptModules), dynamo otherwise (a .pt2 cannot be re-traced by TorchScript)."""
    if isinstance(model, TorchModel) and source_format(model) == "torchscript":
        return "torchscript"
    return "dynamo"


def check_exporter(model: TorchModel, exporter: Exporter) -> None:
    """A source format the exporter cannot take is a usage error, not an operator problem."""
    fmt = source_format(model)
    if fmt == "torchscript" and exporter == "dynamo":
        raise ConversionFailed(
            f"{model.ref.raw} is a TorchScript archive, which the dynamo exporter cannot export",
            hint="use --exporter torchscript (the default for TorchScript sources)",
        )
    if fmt == "export" and exporter == "torchscript":
        raise ConversionFailed(
            f"{model.ref.raw} is a torch.export program, which the TorchScript exporter cannot "
            "re-trace",
            hint="use --exporter dynamo (the default for .pt2 sources)",
        )


def export_torch(
    model: TorchModel,
    out: Path,
    *,
    exporter: Exporter = "dynamo",
    opset: int = DEFAULT_OPSET,
    dynamic: bool = True,
    example: dict[str, Any] | None = None,
) -> ConversionResult:
    """Export a torch model to one ONNX file; dynamic axes follow the zoo entry or axis 0."""
    import torch

    check_exporter(model, exporter)

    if example is None:
        example = _example_inputs(model)
    args = tuple(torch.from_numpy(example[n]) for n in model.input_names)
    axes = _dynamic_axes(model, example) if dynamic else {}
    tmp = _atomic_target(out)
    start = time.perf_counter()
    try:
        with _quiet():
            if exporter == "dynamo":
                shapes = (
                    {n: {ax: torch.export.Dim.AUTO for ax in axes[n]} for n in model.input_names}
                    if dynamic
                    else None
                )
                program = torch.onnx.export(
                    model.module,
                    args,
                    None,
                    dynamo=True,
                    opset_version=opset,
                    input_names=list(model.input_names),
                    output_names=list(model.output_names) or None,
                    dynamic_shapes=shapes,
                    external_data=False,
                    verbose=False,
                )
                program.save(str(tmp), external_data=False)
            else:
                torch.onnx.export(
                    model.module,
                    args,
                    str(tmp),
                    dynamo=False,
                    opset_version=opset,
                    input_names=list(model.input_names),
                    output_names=list(model.output_names) or None,
                    dynamic_axes=axes or None,
                )
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        ops = _unsupported_ops(exc, model.module)
        extra = f" (unsupported: {', '.join(ops)})" if ops else ""
        other = "torchscript" if exporter == "dynamo" else "dynamo"
        raise ConversionFailed(
            f"{exporter} export failed: {_first_error_line(exc)}{extra}",
            # only name operators when the exporter named some; otherwise say what is known
            hint="the model uses an operator the exporter cannot translate"
            if ops
            else f"the exporter could not trace the model; --exporter {other} may",
        ) from None
    os.replace(tmp, out)
    return ConversionResult(
        out,
        f"torch→onnx ({exporter})",
        time.perf_counter() - start,
        opset,
        {"exporter": exporter, "dynamic_axes": {k: sorted(v) for k, v in axes.items()}},
    )


def _example_inputs(model: TorchModel) -> dict[str, Any]:
    if model.zoo_name:
        from pingce.models.zoo import zoo_entry

        return zoo_entry(model.zoo_name).inputs(EXAMPLE_BATCH, EXAMPLE_SEQ, 0)
    raise ConversionFailed(
        "exporting a non-zoo torch model needs example inputs",
        hint="pass --data FILE.npz; its first samples become the example batch",
    )


def _dynamic_axes(model: TorchModel, example: dict[str, Any]) -> dict[str, dict[int, str]]:
    if model.zoo_name:
        from pingce.models.zoo import zoo_entry

        axes = zoo_entry(model.zoo_name).dynamic_axes
        return {k: dict(v) for k, v in axes.items() if k in model.input_names}
    return {n: {0: "batch"} for n in model.input_names}


@contextlib.contextmanager
def _quiet() -> Any:
    """The exporters print progress and warnings; keep the CLI output clean."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._dynamo")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def convert_opset(source: Path, out: Path, opset: int) -> ConversionResult:
    """Up- or down-convert an ONNX model's default-domain opset with onnx.version_converter."""
    import onnx
    from onnx import version_converter

    start = time.perf_counter()
    model = onnx.load(str(source))
    before = _default_opset(model)
    try:
        converted = version_converter.convert_version(model, opset)
    except Exception as exc:
        raise ConversionFailed(
            f"opset {before} → {opset} conversion failed: {_first_error_line(exc)}"
        ) from None
    tmp = _atomic_target(out)
    onnx.save(converted, str(tmp))
    os.replace(tmp, out)
    return ConversionResult(
        out, f"onnx opset {before}→{opset}", time.perf_counter() - start, opset, {"from": before}
    )


def optimize_for_ort(source: Path, out: Path, level: str = "extended") -> ConversionResult:
    """Save the graph ONNX Runtime runs after its graph optimisations (basic|extended|all)."""
    from pingce.models.onnx_runtime import SessionError, ort_session

    if level not in ("basic", "extended", "all"):
        raise ConversionFailed(
            f"unknown ORT optimisation level {level!r}", hint="basic|extended|all"
        )
    start = time.perf_counter()
    tmp = _atomic_target(out)
    try:
        ort_session(source, optimization=level, optimized_model_path=tmp)  # type: ignore[arg-type]
    except SessionError as exc:
        tmp.unlink(missing_ok=True)
        raise ConversionFailed(f"ORT optimisation failed: {exc.reason}") from None
    os.replace(tmp, out)
    import onnx

    return ConversionResult(
        out,
        f"onnx→ort-optimised ({level})",
        time.perf_counter() - start,
        _default_opset(onnx.load(str(out), load_external_data=False)),
        {"level": level},
    )


def _default_opset(model: Any) -> int | None:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)


def convert(
    model: LoadedModel,
    out: Path,
    *,
    to: str,
    exporter: Exporter = "dynamo",
    opset: int | None = None,
    dynamic: bool = True,
    example: dict[str, Any] | None = None,
    level: str = "extended",
) -> ConversionResult:
    """Dispatch on (source kind, target format): torch→onnx, onnx→onnx (opset), onnx→ort."""
    if to == "onnx" and isinstance(model, TorchModel):
        return export_torch(
            model,
            out,
            exporter=exporter,
            opset=opset or DEFAULT_OPSET,
            dynamic=dynamic,
            example=example,
        )
    if to == "onnx" and isinstance(model, OnnxModel):
        if opset is None:
            raise ConversionFailed("converting ONNX to ONNX needs --opset N")
        return convert_opset(model.path, out, opset)
    if to == "ort" and isinstance(model, OnnxModel):
        return optimize_for_ort(model.path, out, level)
    raise ConversionFailed(
        f"no converter from {model.kind} to {to!r}",
        hint="torch→onnx, onnx→onnx (--opset), onnx→ort",
    )
