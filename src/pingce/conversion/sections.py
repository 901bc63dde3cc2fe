"""Report sections of a conversion run (tables and charts), built from stored records only."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from pingce.conversion.tasks import canonical_type
from pingce.core.report.kit import LinesChart, LineSeries, Section, Table, rnd
from pingce.models.latency import speedup_statement


def _numerics_section(task_id: str, recs: list[dict[str, Any]]) -> tuple[Section, list[str]]:
    per: dict[str, dict[str, float]] = defaultdict(
        lambda: {
            "n": 0,
            "max_abs": 0.0,
            "max_rel": 0.0,
            "sum_rel": 0.0,
            "sse": 0.0,
            "ref_sq": 0.0,
            "cos": 0.0,
            "samples": 0,
            "pass": 0,
        }
    )
    errors = [r["data"]["error"] for r in recs if "error" in r["data"]]
    for r in recs:
        for name, s in r["data"].get("outputs", {}).items():
            row = per[name]
            row["samples"] += 1
            if "shape_mismatch" in s:
                continue
            row["n"] += s["n"]
            row["max_abs"] = max(row["max_abs"], s["max_abs"])
            row["max_rel"] = max(row["max_rel"], s["max_rel"])
            row["sum_rel"] += s["sum_rel"]
            row["sse"] += s["sse"]
            row["ref_sq"] += s["ref_sq"]
            row["cos"] += s["cosine"]
            row["pass"] += s["allclose"]
    rows = []
    for name, p in per.items():
        n = max(p["n"], 1)
        rows.append(
            [
                name,
                rnd(p["max_abs"], significant=True),
                rnd(p["max_rel"], significant=True),
                rnd(p["sum_rel"] / n, significant=True),
                rnd(math.sqrt(p["sse"] / n), significant=True),
                rnd(math.sqrt(p["sse"] / p["ref_sq"]) if p["ref_sq"] else 0.0, significant=True),
                rnd(p["cos"] / max(p["samples"], 1), significant=True),
                rnd(p["pass"] / max(p["samples"], 1), significant=True),
            ]
        )
    notes = [f"{task_id}: the converted model failed to run: {errors[0]}"] if errors else []
    section = Section(
        f"{task_id}-outputs",
        "Per-output numerical consistency",
        "逐输出数值一致性",
        text="Source = reference. Relative error divides by |source| (Polygraphy's rule).",
        table=Table(
            [
                "output",
                "max abs err",
                "max rel err",
                "mean rel err",
                "RMSE",
                "rel. L2 distance",
                "mean cosine",
                "allclose rate",
            ],
            rows,
        ),
    )
    return section, notes


def _checks_section(task_id: str, rec: dict[str, Any]) -> tuple[Section, list[str]]:
    d = rec["data"]
    if "skipped" in d:
        return Section(task_id, "Model checks", "模型检查", text=d["skipped"]), []
    cov = d["coverage"]
    text = (
        f"onnx.checker (full): {'pass' if d['checker']['ok'] else 'FAIL: ' + str(d['checker']['error'])}. "
        f"Shape inference: {'pass' if d['shape_inference']['ok'] else 'FAIL: ' + str(d['shape_inference']['error'])}"
        f" ({d['shape_inference'].get('ranked', 0)}/{d['shape_inference'].get('tensors', 0)} tensors with a shape). "
        f"Operator coverage: {cov['supported']}/{cov['distinct']} distinct operators "
        f"(opsets {cov['opsets']}); ONNX Runtime CPU session: "
        + ("builds." if cov["session_ok"] else f"FAILS: {cov['session_error']}")
    )
    rows = [
        [
            o["domain"],
            o["op"],
            o["count"],
            o["opset"],
            "yes" if o["in_opset"] else "no",
            "yes" if o["in_runtime"] else "no",
        ]
        for o in cov["operators"]
    ]
    notes = []
    if cov["unsupported"]:
        notes.append(f"Unsupported operators: {', '.join(cov['unsupported'])}.")
    return Section(
        f"{task_id}-operators",
        "ONNX checks and operator coverage",
        "ONNX检查与算子覆盖",
        text=text,
        table=Table(["domain", "operator", "count", "opset", "in opset", "in ONNX Runtime"], rows),
    ), notes


def _shapes_section(task_id: str, recs: list[dict[str, Any]]) -> tuple[Section, list[str]]:
    rows, notes = [], []
    for r in recs:
        d = r["data"]
        status = (
            "source cannot run"
            if "conv_shape_pass_rate" not in r["scores"]
            else "pass"
            if r["scores"]["conv_shape_pass_rate"]
            else "FAIL"
        )
        rows.append(
            [
                d["batch"],
                d.get("seq"),
                status,
                rnd(d.get("max_abs"), significant=True),
                rnd(d.get("max_rel"), significant=True),
                d.get("error"),
            ]
        )
        if status == "FAIL" and d.get("error"):
            notes.append(f"Shape batch={d['batch']} seq={d.get('seq')}: {d['error']}")
    return Section(
        f"{task_id}-shapes",
        "Dynamic-shape coverage",
        "动态形状覆盖",
        table=Table(["batch", "seq len", "status", "max abs err", "max rel err", "error"], rows),
    ), notes[:5]


def _divergence_section(task_id: str, rec: dict[str, Any]) -> tuple[Section, list[str]]:
    d = rec["data"]
    layers = d.get("layers", [])
    first = d.get("first_divergence")
    if d.get("unavailable"):
        text = f"No layer-by-layer comparison: {d['unavailable']}."
    elif d.get("error"):
        text = f"Intermediate outputs could not be compared: {d['error']}"
    elif not layers:
        text = "No intermediate tensors could be matched between the two models."
    elif first is None:
        text = (
            f"All outputs agree; {len(layers)} matched layers compared, none diverges persistently."
        )
    else:
        text = (
            f"First diverging layer: {first['layer']} (max abs err {first['max_abs']:.3g}, "
            f"max rel err {first['max_rel']:.3g}); the error persists to the output from here."
        )
    rows = [
        [
            i,
            row["layer"],
            "x".join(map(str, row["shape"])),
            rnd(row["max_abs"], significant=True),
            rnd(row["max_rel"], significant=True),
            rnd(row["cosine"], 6, significant=True),
            "pass" if row["pass"] else "FAIL",
        ]
        for i, row in enumerate(layers)
    ]
    chart = LinesChart(
        "Max abs error by layer",
        [
            LineSeries(
                "max abs err",
                list(range(len(layers))),
                [max(row["max_abs"], 1e-12) for row in layers],
            )
        ],
        x_label="layer index",
        y_label="max abs err",
        x_log=False,
        y_log=True,
    )
    section = Section(
        f"{task_id}-layers",
        "Layer-by-layer comparison (divergence point)",
        "逐层比对（分歧点）",
        text=text,
        table=Table(
            ["#", "layer", "shape", "max abs err", "max rel err", "cosine", "status"], rows
        ),
        charts=[chart] if layers else None,
    )
    return section, ([text] if first is not None else [])


def _performance_section(task_id: str, recs: list[dict[str, Any]]) -> tuple[Section, list[str]]:
    rows, notes = [], []
    for r in recs:
        d = r["data"]
        if "error" in d:
            rows.append([d.get("batch")] + [None] * 9 + [d["error"]])
            continue
        s, t, sp = d["source"], d["target"], d["speedup"]
        rows.append(
            [
                d["batch"],
                rnd(s["p50_ms"], significant=True),
                rnd(s["p90_ms"], significant=True),
                rnd(s["p99_ms"], significant=True),
                rnd(t["p50_ms"], significant=True),
                rnd(t["p90_ms"], significant=True),
                rnd(t["p99_ms"], significant=True),
                rnd(s["throughput"], significant=True),
                rnd(t["throughput"], significant=True),
                f"{sp['value']:.2f} [{sp['ci_low']:.2f}, {sp['ci_high']:.2f}]",
                "significant" if sp["significant"] else "not significant",
            ]
        )
        notes.append(speedup_statement(sp, f"batch {d['batch']}"))
    return Section(
        f"{task_id}-latency",
        "Performance parity",
        "性能一致性",
        text="Latencies in ms from alternating calls after warm-up, fixed threads; speed-up = "
        "source/converted with a 95% paired-bootstrap CI.",
        table=Table(
            [
                "batch",
                "source p50",
                "source p90",
                "source p99",
                "converted p50",
                "converted p90",
                "converted p99",
                "source items/s",
                "converted items/s",
                "speed-up [95% CI]",
                "significance",
            ],
            rows,
        ),
    ), notes


def _zoo_section(task_id: str, recs: list[dict[str, Any]]) -> tuple[Section, list[str]]:
    rows = []
    for r in recs:
        d = r["data"]
        rows.append(
            [
                d["model"],
                d["exporter"],
                d["opset"],
                "ok" if r["scores"].get("conv_success_rate") else "FAIL",
                d.get("stage"),
                rnd(d.get("max_abs"), significant=True),
                rnd(d.get("max_rel"), significant=True),
                d.get("error"),
            ]
        )
    ok = sum(1 for r in recs if r["scores"].get("conv_success_rate"))
    return Section(
        f"{task_id}-zoo",
        "Conversion success over the model zoo",
        "模型库转换成功率",
        text=f"{ok}/{len(recs)} models converted and verified.",
        table=Table(
            [
                "model",
                "exporter",
                "opset",
                "result",
                "stage",
                "max abs err",
                "max rel err",
                "error",
            ],
            rows,
        ),
    ), []


def build_sections(
    suite: dict[str, Any], by_task: dict[str, list[dict[str, Any]]]
) -> tuple[list[Section], list[str], dict[str, Any]]:
    """Sections, notes, and the overall verdict of a conversion run."""
    sections: list[Section] = []
    notes: list[str] = []
    checks: dict[str, bool] = {}
    for spec in suite["tasks"]:
        recs = sorted(by_task.get(spec["id"], []), key=lambda r: r["position"])
        if not recs:
            continue
        kind = canonical_type(spec["type"])
        if kind == "conversion.numerics":
            sec, n = _numerics_section(spec["id"], recs)
            checks["numerics within tolerance"] = all(
                r["scores"].get("conv_allclose_rate") for r in recs
            )
        elif kind == "conversion.checks":
            sec, n = _checks_section(spec["id"], recs[0])
            sc = recs[0]["scores"]
            if sc:
                checks["onnx checker"] = bool(sc["conv_checker_pass"])
                checks["operators supported"] = sc["conv_op_coverage"] == 1.0
        elif kind == "conversion.shapes":
            sec, n = _shapes_section(spec["id"], recs)
            rated = [
                r["scores"]["conv_shape_pass_rate"]
                for r in recs
                if "conv_shape_pass_rate" in r["scores"]
            ]
            checks["dynamic shapes"] = all(rated)
        elif kind == "conversion.divergence":
            sec, n = _divergence_section(spec["id"], recs[0])
        elif kind == "conversion.performance":
            sec, n = _performance_section(spec["id"], recs)
        else:
            sec, n = _zoo_section(spec["id"], recs)
        sections.append(sec)
        notes.extend(n)
    zoo = [
        r
        for spec in suite["tasks"]
        if canonical_type(spec["type"]) == "conversion.zoo"
        for r in by_task.get(spec["id"], [])
    ]
    if zoo:
        rate = sum(r["scores"].get("conv_success_rate", 0) for r in zoo) / len(zoo)
        verdict = {
            "score": rate,
            "method": "fraction of zoo models converted and verified",
            "checks": {},
        }
        return sections, notes, verdict
    passed = sum(checks.values())
    verdict = {
        "score": passed / len(checks) if checks else None,
        "method": "fraction of conformance checks passed: "
        + ", ".join(f"{k}={'pass' if v else 'FAIL'}" for k, v in checks.items()),
        "checks": checks,
        "pass": all(checks.values()) if checks else None,
    }
    notes.insert(
        0, "Verdict: " + ("PASS" if verdict["pass"] else "FAIL") + " — " + verdict["method"]
    )
    return sections, notes, verdict
