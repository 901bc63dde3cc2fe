"""Render a report document as GitHub-flavoured Markdown."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pingce.core.report.formatting import (
    MISSING,
    direction_text,
    format_cell,
    format_estimate,
    format_number,
    format_plain,
    format_score,
    gpu_text,
    one_line,
    primary_metric,
    seed_text,
    threshold_text,
    unit_suffix,
)
from pingce.core.report.validation import validate_report

# Packages worth a line in the Markdown environment summary; the full list is in the
# JSON and HTML reports.
KEY_PACKAGES = (
    "pingce",
    "torch",
    "transformers",
    "tokenizers",
    "datasets",
    "numpy",
    "scipy",
    "sacrebleu",
    "rouge-score",
    "vllm",
    "lm-eval",
    "cuda",
)


def md_cell(value: Any) -> str:
    """Make text safe for one Markdown table cell: escape pipes, fold newlines."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(text.splitlines()) if text else " "


def md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A GitHub-flavoured Markdown table as lines."""
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines.extend("| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows)
    return lines


def _md_title(doc: Mapping[str, Any]) -> list[str]:
    run, std = doc["run"], doc["standard"]
    suite = run["suite_title"] or run["suite"]
    lines = [
        f"# 评测报告 · Evaluation report: {' '.join(suite.split())}",
        "",
        f"{std['title']} · {std['title_zh']} — subject: {run['subject']}",
    ]
    warning = (doc.get("integrity") or {}).get("warning")
    if warning:
        lines += ["", f"> **Integrity warning · 完整性警告:** {' '.join(str(warning).split())}"]
    return lines


def _md_run(doc: Mapping[str, Any]) -> list[str]:
    run = doc["run"]
    rows = [
        ("Run id", run["id"]),
        ("Standard", f"{doc['standard']['title']} ({run['standard']})"),
        ("Suite", f"{run['suite_title']} ({run['suite']})"),
        ("Subject", run["subject"]),
        ("Status", run["status"]),
        ("Created", run["created_at"]),
        ("Finished", run["finished_at"] or MISSING),
        ("Config hash", run["config_hash"]),
        *(
            [("Integrity", f"{doc['integrity']['status']}: {doc['integrity']['detail']}")]
            if doc.get("integrity")
            else []
        ),
        ("pingce version", doc["pingce_version"]),
        ("Generated", doc["generated_at"]),
    ]
    return ["## Run · 运行信息", "", *md_table(["Field", "Value"], rows)]


def _md_scores(doc: Mapping[str, Any]) -> list[str]:
    overall = doc["overall"]
    lines = [
        "## Overall · 总分",
        "",
        f"**Overall score: {format_score(overall['score'])}**",
        "",
        overall["method"],
    ]
    if doc["dimensions"]:
        rows = [
            (
                d["name"],
                d["name_zh"],
                format_score(d["score"]),
                format_number(d["weight"]),
                ", ".join(d["tasks"]) or MISSING,
            )
            for d in doc["dimensions"]
        ]
        lines += ["", *md_table(["Dimension", "维度", "Score", "Weight", "Tasks"], rows)]
    return lines


def _md_task_row(task: Mapping[str, Any]) -> list[str]:
    metric = primary_metric(task)
    name = task["primary_metric"]
    if metric is None:
        value, n = MISSING, MISSING
    else:
        value = format_estimate(
            metric["value"], metric["ci_low"], metric["ci_high"], metric["stderr"]
        )
        value += unit_suffix(metric["unit"])  # "0-1" names a scale, not a unit
        if metric["direction"] == "lower":
            name += " (lower is better)"
        n = str(metric["n"])
    others = ", ".join(
        f"{k}={format_number(m['value'])}"
        for k, m in task["metrics"].items()
        if k != task["primary_metric"]
    )
    return [
        task["id"],
        task["title"],
        task["title_zh"],
        task["dimension"],
        name,
        value,
        n,
        others or MISSING,
    ]


def _md_tasks(doc: Mapping[str, Any]) -> list[str]:
    header = ["Task", "Title", "中文名", "Dimension", "Metric", "Value [CI]", "n", "Other metrics"]
    rows = [_md_task_row(t) for t in doc["tasks"]]
    return ["## Tasks · 任务", "", *md_table(header, rows)] if rows else []


def _md_chart(chart: Mapping[str, Any]) -> list[str]:
    """A one-line mention of a chart; bars and heatmaps also keep their data as a table.

    A boxes chart is named with its caption and box counts; its image stays out of Markdown.
    """
    if chart["kind"] == "boxes":
        caption = " · ".join(
            one_line(line) for line in str(chart.get("caption") or "").splitlines() if line.strip()
        )
        return [
            f"image: {one_line(chart['title'])}"
            + (f" — {caption}" if caption else "")
            + f" ({len(chart['gold'])} gold, {len(chart['pred'])} predicted boxes;"
            " see the HTML report)"
        ]
    unit = chart.get("unit") or ""
    line = f"chart: {one_line(chart['title'])} (see the HTML report)"
    lines = [f"{line}; values in {one_line(unit)}" if unit else line]
    if chart["kind"] == "bars" and chart["labels"]:
        header = ["", *(s["name"] for s in chart["series"])]
        rows = [
            [label, *(format_cell(s["values"][i]) for s in chart["series"])]
            for i, label in enumerate(chart["labels"])
        ]
        lines += ["", *md_table(header, rows)]
    elif chart["kind"] == "heatmap" and chart["rows"]:
        rows = [
            [label, *(format_cell(v) for v in values)]
            for label, values in zip(chart["rows"], chart["values"], strict=True)
        ]
        lines += ["", *md_table(["", *chart["columns"]], rows)]
    return lines


def _md_section(section: Mapping[str, Any]) -> list[str]:
    title, title_zh = one_line(section["title"]), one_line(section["title_zh"])
    heading = f"## {title} · {title_zh}" if title_zh and title_zh != title else f"## {title}"
    lines = [heading]
    text = section.get("text", "").strip()
    if text:
        lines += ["", *(line.rstrip() for line in text.splitlines())]
    table = section.get("table")
    if table and table["columns"]:
        rows = [[format_cell(c) for c in row] for row in table["rows"]]
        lines += ["", *md_table(table["columns"], rows)]
    for chart in section.get("charts", []):
        lines += ["", *_md_chart(chart)]
    return lines


def _md_sections(doc: Mapping[str, Any]) -> list[list[str]]:
    return [_md_section(s) for s in doc.get("sections", [])]


def _md_indicators(doc: Mapping[str, Any]) -> list[str]:
    # With several scopes (tasks, scenarios, variants) the same indicator id repeats: a Scope
    # column tells the rows apart (the HTML table always has one).
    scoped = len({i.get("scope") for i in doc["indicators"]}) > 1
    rows = [
        (
            i["id"],
            i["name"],
            i["name_zh"],
            format_estimate(i["value"], i["ci_low"], i["ci_high"], i["stderr"]),
            i["unit"] or MISSING,
            direction_text(i["direction"]),
            threshold_text(i["threshold"], i["direction"]),
            i["verdict"] or MISSING,
            *([format_plain(i.get("scope"))] if scoped else []),
        )
        for i in doc["indicators"]
    ]
    header = ["Indicator", "Name", "中文名", "Value", "Unit", "Direction", "Threshold", "Verdict"]
    if scoped:
        header.append("Scope")
    return ["## Indicators · 指标", "", *md_table(header, rows)] if rows else []


def _md_notes(doc: Mapping[str, Any]) -> list[str]:
    if not doc["notes"]:
        return []
    return ["## Notes · 说明", "", *(f"- {' '.join(n.split())}" for n in doc["notes"])]


def _key_packages(env: Mapping[str, Any]) -> str:
    packages = env.get("packages") or {}
    keys = [k for k in KEY_PACKAGES if k in packages] or sorted(packages)[:12]
    text = ", ".join(f"{k} {format_plain(packages[k])}" for k in keys)
    hidden = len(packages) - len(keys)
    if hidden > 0:
        text += f" (+{hidden} more in report.json)"
    return text or MISSING


def _md_environment(doc: Mapping[str, Any]) -> list[str]:
    env = doc["run"]["environment"]
    rows = [
        ("Python", format_plain(env.get("python"))),
        ("Platform", format_plain(env.get("platform"))),
        ("CPU", format_plain(env.get("cpu"))),
        ("GPU", gpu_text(env)),
        ("Threads", format_plain(env.get("threads"))),
        ("Seeds", seed_text(doc)),
        ("Packages", _key_packages(env)),
    ]
    return ["## Environment · 环境", "", *md_table(["Item", "Value"], rows)]


def render_markdown(doc: Mapping[str, Any], *, validate: bool = True) -> str:
    """Render the document as GitHub-flavoured Markdown (validated first unless `validate`
    is False because the caller, e.g. `write_report`, has just validated it)."""
    if validate:
        validate_report(doc)
    sections: list[list[str]] = [
        _md_title(doc),
        _md_run(doc),
        _md_scores(doc),
        _md_tasks(doc),
        *_md_sections(doc),
        _md_indicators(doc),
        _md_notes(doc),
        _md_environment(doc),
    ]
    return "\n\n".join("\n".join(s) for s in sections if s) + "\n"
