"""Convert and verify one zoo model: the unit of the conversion-success-rate task."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pingce.conversion import numerics as nm
from pingce.conversion.checks import checker
from pingce.conversion.tasks import shaped_inputs
from pingce.core.execute import Outcome
from pingce.models.converters import ConversionFailed, convert
from pingce.models.loaded import OnnxModel, load_model, parse_model_ref


def verify_zoo_model(
    name: str,
    workdir: Path,
    *,
    exporter: str,
    opset: int,
    rtol: float,
    atol: float,
    samples: int,
) -> Outcome:
    """Export zoo model `name`, then check it, compare outputs and try other shapes.

    Success means: exported, onnx.checker passes, and every sample agrees within tolerance at
    the example batch and at batch sizes 1 and 5 (and two sequence lengths for token models).
    """
    from pingce.models.zoo import zoo_entry

    entry = zoo_entry(name)
    start = time.perf_counter()
    data: dict[str, Any] = {"model": name, "exporter": exporter, "opset": opset}
    source = load_model(f"zoo:{name}")
    out = workdir / f"{name}-{exporter}-opset{opset}.onnx"
    try:
        result = convert(source, out, to="onnx", exporter=exporter, opset=opset)  # type: ignore[arg-type]
    except ConversionFailed as exc:
        data.update(stage="export", error=exc.message, seconds=time.perf_counter() - start)
        return Outcome({"conv_success_rate": 0}, data)
    data["export_seconds"] = result.seconds
    chk = checker(out)
    data["checker"] = chk["ok"]
    try:
        target = OnnxModel(out, parse_model_ref(f"onnx:{out}"))
        feeds = entry.inputs(samples, 8, 0)
        shapes = [(samples, 8)] + [
            (b, s) for b in (1, 5) for s in ((5, 13) if entry.has_sequence else (8,))
        ]
        worst_abs, worst_rel, all_ok = 0.0, 0.0, True
        for batch, seq in shapes:
            inp = shaped_inputs(feeds, batch, seq if entry.has_sequence else None)
            per = nm.compare_batch(
                source.run(inp), target.run(inp), target.output_names, rtol=rtol, atol=atol
            )
            totals = [nm.combine_outputs(s) for s in per]
            all_ok &= all(t["allclose"] for t in totals)
            worst_abs = max(worst_abs, *(t.get("max_abs", float("inf")) for t in totals))
            worst_rel = max(worst_rel, *(t.get("max_rel", float("inf")) for t in totals))
    except Exception as exc:  # e.g. a shape baked into the graph at export time
        lines = [ln for ln in str(exc).splitlines() if ln.strip()]
        data.update(stage="run", error=(lines[0] if lines else type(exc).__name__)[:300])
        data["seconds"] = time.perf_counter() - start
        return Outcome({"conv_success_rate": 0}, data)
    ok = bool(chk["ok"] and all_ok)
    data.update(
        stage="verified" if ok else "numerics",
        max_abs=worst_abs,
        max_rel=worst_rel,
        shapes=[list(s) for s in shapes],
        seconds=time.perf_counter() - start,
        error=None
        if ok
        else (
            "checker: " + str(chk["error"]) if not chk["ok"] else "outputs differ beyond tolerance"
        ),
    )
    return Outcome({"conv_success_rate": int(ok)}, data)
