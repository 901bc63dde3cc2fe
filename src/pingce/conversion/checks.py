"""Static checks of a converted ONNX model: the ONNX checker, shape inference and operator
coverage against the model's opset and ONNX Runtime's CPU provider."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from pingce.models.onnx_runtime import first_line

ORT_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "com.microsoft", "com.microsoft.nchwc"}


def checker(path: Path) -> dict[str, Any]:
    """onnx.checker.check_model with full_check (which also runs strict shape inference)."""
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
        return {"ok": True, "error": None}
    except Exception as exc:
        return {"ok": False, "error": first_line(exc)}


def shape_inference(path: Path) -> dict[str, Any]:
    """Strict ONNX shape inference: does it succeed, and how many tensors get a full shape."""
    import onnx

    model = onnx.load(str(path))
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as exc:
        return {"ok": False, "error": first_line(exc), "tensors": 0, "typed": 0, "ranked": 0}
    produced = {o for n in inferred.graph.node for o in n.output if o}
    infos = {
        v.name: v
        for v in list(inferred.graph.value_info) + list(inferred.graph.output)
        if v.name in produced
    }
    typed = sum(1 for v in infos.values() if v.type.tensor_type.elem_type)
    ranked = sum(1 for v in infos.values() if v.type.tensor_type.HasField("shape"))
    return {
        "ok": True,
        "error": None,
        "tensors": len(produced),
        "typed": typed,
        "ranked": ranked,
    }


def _ort_schemas() -> set[tuple[str, str]]:
    """(domain, op) pairs whose schema ONNX Runtime registers (ONNX + its contrib domains)."""
    from onnxruntime.capi import onnxruntime_pybind11_state as c

    return {(s.domain or "", s.name) for s in c.get_all_operator_schema()}


def operator_coverage(path: Path) -> dict[str, Any]:
    """Every (domain, op) in the graph, with whether the model's opset defines it and whether
    ONNX Runtime knows it; plus whether ORT's CPU provider actually builds a session."""
    import onnx

    from pingce.models.onnx_runtime import SessionError, ort_session

    model = onnx.load(str(path), load_external_data=False)
    opsets = {o.domain or "": o.version for o in model.opset_import}
    counts: Counter[tuple[str, str]] = Counter()

    def walk(graph: Any) -> None:
        for node in graph.node:
            counts[(node.domain or "", node.op_type)] += 1
            for attr in node.attribute:
                if attr.HasField("g"):
                    walk(attr.g)
                for sub in attr.graphs:
                    walk(sub)

    walk(model.graph)
    local_functions = {(f.domain, f.name) for f in model.functions}
    ort_known = _ort_schemas()
    session_error = None
    try:
        ort_session(path, optimization="disable")
    except SessionError as exc:
        session_error = exc.reason
    rows = []
    for (domain, op), count in sorted(counts.items()):
        version = opsets.get(domain, opsets.get("ai.onnx") if domain == "" else None)
        in_opset = (domain, op) in local_functions
        if not in_opset and version is not None:
            try:
                onnx.defs.get_schema(op, version, domain)
                in_opset = True
            except Exception:
                in_opset = False
        in_ort = (domain, op) in local_functions or (
            domain in ORT_DOMAINS
            and ((domain, op) in ort_known or ("", op) in ort_known and domain == "ai.onnx")
        )
        named_in_error = session_error is not None and op in session_error
        rows.append(
            {
                "domain": domain or "ai.onnx",
                "op": op,
                "count": count,
                "opset": version,
                "in_opset": in_opset,
                "in_runtime": in_ort and not named_in_error,
            }
        )
    supported = sum(1 for r in rows if r["in_opset"] and r["in_runtime"])
    return {
        "operators": rows,
        "distinct": len(rows),
        "supported": supported,
        "coverage": supported / len(rows) if rows else 1.0,
        "unsupported": [
            f"{r['domain']}::{r['op']}" for r in rows if not (r["in_opset"] and r["in_runtime"])
        ],
        "session_ok": session_error is None,
        "session_error": session_error,
        "opsets": opsets,
    }
