"""Render a report document as one self-contained HTML file.

The file must open offline and be safe to open even though it holds model output and
dataset text: Jinja2 autoescapes everything, charts are inline SVG, and a
Content-Security-Policy blocks every network load and every script except our own.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from jinja2 import Environment, FunctionLoader, StrictUndefined
from markupsafe import Markup

from pingce.core.report.charts import chart_svg, ci_bars_svg, radar_svg
from pingce.core.report.formatting import (
    MISSING,
    direction_text,
    environment_rows,
    format_cell,
    format_estimate,
    format_number,
    format_plain,
    format_score,
    is_number,
    json_safe,
    package_rows,
    primary_metric,
    sample_failed,
    threshold_text,
    unit_suffix,
)
from pingce.core.report.validation import validate_report

TEMPLATE = "report.html.j2"


def _load_template(name: str) -> str | None:
    resource = files("pingce.core.report").joinpath("templates").joinpath(name)
    return resource.read_text(encoding="utf-8") if resource.is_file() else None


def csp_hash(script: str) -> str:
    """CSP source expression allowing exactly this inline script."""
    digest = hashlib.sha256(str(script).encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def pretty_json(value: Any) -> str:
    """Indented JSON for display in a <pre>; the template escapes it."""
    return json.dumps(json_safe(value), indent=2, ensure_ascii=False, default=str)


def anchor(text: str) -> str:
    """An HTML id fragment: ids may not contain whitespace."""
    return re.sub(r"\s+", "-", str(text).strip())


@functools.cache
def _environment() -> Environment:
    env = Environment(
        loader=FunctionLoader(_load_template),
        autoescape=True,  # every string from a model or dataset is untrusted
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=format_number,
        score=format_score,
        plain=format_plain,
        pretty=pretty_json,
        csp_hash=csp_hash,
        anchor=anchor,
        unit_suffix=unit_suffix,
    )
    env.globals.update(
        MISSING=MISSING,
        estimate=format_estimate,
        direction_text=direction_text,
        threshold_text=threshold_text,
    )
    return env


def _bilingual(name: str, name_zh: str) -> str:
    """Two-line chart label; the Chinese line is dropped when it adds nothing."""
    return f"{name}\n{name_zh}" if name_zh and name_zh != name else name


def capability_chart(dimensions: list[Mapping[str, Any]]) -> Markup:
    """Radar over the dimensions (bars when there are fewer than three)."""
    labels = [_bilingual(d["name"], d["name_zh"]) for d in dimensions]
    return Markup(radar_svg(labels, [d["score"] for d in dimensions]))


def task_chart(tasks: list[Mapping[str, Any]]) -> Markup:
    """Primary metric per task with CI whiskers; lower-is-better metrics get no bar."""
    rows, units = [], []
    for task in tasks:
        metric = primary_metric(task)
        units.append(metric["unit"] if metric else "")
        # Second line: Chinese title and the metric, so a long title cannot hide the metric.
        detail = " · ".join(x for x in (task["title_zh"], task["primary_metric"]) if x)
        label = f"{task['title']}\n{detail}"
        if metric is None:
            rows.append((label, None, None, None, None))
            continue
        scale = metric["scale"]
        if metric["direction"] == "lower":
            # A bar grows with "better" for every other row; a shorter-is-better bar
            # would read backwards, so show the number only.
            label, scale = f"{label}\n(lower is better)", None
        rows.append((label, metric["value"], metric["ci_low"], metric["ci_high"], scale))
    # Scale 0 marks an unbounded metric: ci_bars_svg draws those on a shared, labelled axis.
    return Markup(ci_bars_svg(rows, units=units))


def _task_rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for task in doc["tasks"]:
        metric = primary_metric(task)
        others = [(k, m) for k, m in task["metrics"].items() if k != task["primary_metric"]]
        rows.append({"task": task, "metric": metric, "others": others})
    return rows


def _sample_rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    from pingce.core.sample_failure import standard_rules

    rules = standard_rules(doc["run"].get("standard"))
    return [{"s": s, "failed": sample_failed(s, rules)} for s in doc["samples"]]


def _samples_cut(doc: Mapping[str, Any]) -> str:
    """A sentence naming the tasks whose sample table the standard shortened (extra
    `samples_kept`: {task: {kept, total}}), or ''."""
    kept = (doc.get("extra") or {}).get("samples_kept") or {}
    cut = [
        f"{task} {k['kept']} of {k['total']}"
        for task, k in kept.items()
        if isinstance(k, Mapping) and k.get("kept", 0) < k.get("total", 0)
    ]
    if not cut:
        return ""
    return (
        "This table keeps only part of the samples: "
        + ", ".join(cut)
        + f". Scores use every sample; `pingce export {doc['run']['id']} --records` writes "
        "every record."
    )


def _sample_tasks(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(task id, option label) for each task that has samples, in first-seen order."""
    titles = {t["id"]: t["title"] for t in doc["tasks"]}
    ids = dict.fromkeys(s["task"] for s in doc["samples"])
    return [(tid, f"{tid} · {titles[tid]}" if tid in titles else tid) for tid in ids]


def section_views(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each report section with its table cells as (text, is_number) and its charts as SVG.

    ``charts`` holds the SVGs alone (the dashboard's run page reads them); ``figures``
    pairs each with its kind so the report can lay image charts out side by side.
    """
    views = []
    for section in doc.get("sections", []):
        table = section.get("table")
        figures = [(c["kind"], Markup(chart_svg(c))) for c in section.get("charts", [])]
        rows = [
            [(format_cell(c), is_number(c)) for c in row]
            for row in (table["rows"] if table else [])
        ]
        views.append(
            {
                "s": section,
                "text": section.get("text", ""),
                "columns": table["columns"] if table else [],
                "rows": rows,
                "charts": [svg for _, svg in figures],
                "figures": [{"kind": kind, "svg": svg} for kind, svg in figures],
            }
        )
    return views


def render_html(doc: Mapping[str, Any], *, validate: bool = True) -> str:
    """Render the document as a single offline HTML page (validated first unless `validate`
    is False because the caller has just validated it)."""
    if validate:
        validate_report(doc)
    template = _environment().get_template(TEMPLATE)
    return template.render(
        doc=doc,
        run=doc["run"],
        env_rows=environment_rows(doc["run"]["environment"]),
        packages=package_rows(doc["run"]["environment"]),
        capability_svg=capability_chart(doc["dimensions"]),
        task_svg=task_chart(doc["tasks"]),
        task_rows=_task_rows(doc),
        sections=section_views(doc),
        sample_rows=_sample_rows(doc),
        samples_cut=_samples_cut(doc),
        sample_tasks=_sample_tasks(doc),
    )
