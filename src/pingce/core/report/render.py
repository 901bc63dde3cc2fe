"""Validate a report document and render it as JSON or Markdown; write report files.

The report document is a plain dict described by the shipped ``schema.json``. Every
standard produces one, and every renderer reads only that shape, so a standard never
needs its own report code.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import math
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from pingce.core.errors import ReportError

if TYPE_CHECKING:
    from pingce.core.sample_failure import FailRule

SCHEMA_VERSION = "1.0"
FORMATS: dict[str, str] = {"html": "report.html", "md": "report.md", "json": "report.json"}
MISSING = "—"

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

_BUG_HINT = "this is a bug in pingce; please report it together with the run id"

# The only URIs a report may carry: base64 images of these types in ``boxes`` charts. The
# strict charset keeps quotes, angle brackets and other schemes out of the page; the first
# bytes must match the type named so a mislabelled payload is refused too.
IMAGE_URI = re.compile(r"data:image/(png|jpeg|webp);base64,([A-Za-z0-9+/]*={0,2})")
# A thumbnail is a few kB; this stops a standard embedding full-size photos by mistake.
MAX_IMAGE_CHARS = 1_000_000


# --------------------------------------------------------------------------- schema


@functools.cache
def load_schema() -> dict[str, Any]:
    """Return the shipped report JSON Schema (draft 2020-12)."""
    text = files("pingce.core.report").joinpath("schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@functools.cache
def _validator() -> Draft202012Validator:
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_report(doc: Mapping[str, Any]) -> None:
    """Raise ReportError unless ``doc`` matches the report schema.

    Beyond the schema, the lengths inside ``sections`` must agree (see `check_sections`).
    """
    error = best_match(_validator().iter_errors(doc))
    if error is None:
        check_sections(doc.get("sections", []))
        return
    if error.validator == "pattern" and isinstance(error.instance, str):
        # The default message quotes the whole value first, which may be a long data: URI,
        # and the cut below would then drop the pattern it failed.
        detail = f"{_clip(error.instance)} does not match {error.validator_value!r}"
    else:
        detail = " ".join(error.message.split())
    if len(detail) > 160:  # messages can embed a whole sub-document; keep one short line
        detail = detail[:157] + "..."
    where = f"{error.json_path}{_section_context(doc, list(error.absolute_path))}"
    raise ReportError(f"report document is invalid at {where}: {detail}", hint=_BUG_HINT)


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _clip(text: str, limit: int = 40) -> str:
    """``repr`` of the start of ``text``, marked when cut."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def _image_magic_ok(kind: str, raw: bytes) -> bool:
    if kind == "png":
        return raw.startswith(b"\x89PNG\r\n\x1a\n")
    if kind == "jpeg":
        return raw.startswith(b"\xff\xd8\xff")
    return raw[:4] == b"RIFF" and raw[8:12] == b"WEBP"


def image_uri_problem(uri: Any) -> str | None:
    """What is wrong with a ``boxes`` chart's image URI, or None when it may be embedded.

    Accepted: ``data:image/png|jpeg|webp;base64,...`` of at most `MAX_IMAGE_CHARS`
    characters whose payload is strict base64 and starts with that format's signature.
    """
    if not isinstance(uri, str):
        return f"image must be a data: URI string or null, not {type(uri).__name__}"
    if len(uri) > MAX_IMAGE_CHARS:
        return (
            f"image data: URI has {len(uri):,} characters, more than {MAX_IMAGE_CHARS:,}; "
            "embed a downscaled thumbnail"
        )
    match = IMAGE_URI.fullmatch(uri)
    if match is None:
        return f"image must be a base64 PNG, JPEG or WebP data: URI, got {_clip(uri)}"
    try:
        raw = base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        return "image data: URI is not valid base64 (bad length or padding)"
    if not _image_magic_ok(match.group(1), raw):
        return f"image data is not a {match.group(1).upper()} file (its first bytes do not match)"
    return None


def _boxes_problem(chart: Mapping[str, Any]) -> str | None:
    for key in ("width", "height"):
        if not is_number(chart[key]):
            return f"{key} must be a finite number, got {chart[key]!r}"
    if chart["image"] is not None:
        problem = image_uri_problem(chart["image"])
        if problem:
            return problem
    for role in ("gold", "pred"):
        for i, box in enumerate(chart[role]):
            bad = next((k for k in ("x", "y", "w", "h") if not is_number(box[k])), None)
            if bad:
                return f"{role} box {i} ({_one_line(box['label'])!r}) has {bad} = {box[bad]!r}"
    return None


def _section_context(doc: Mapping[str, Any], path: list[Any]) -> str:
    """`` (section 'id', chart 'title')`` for an error inside ``sections``, else ""."""
    if len(path) < 2 or path[0] != "sections" or not isinstance(path[1], int):
        return ""
    try:
        parts = [f"section {_one_line(doc['sections'][path[1]]['id'])!r}"]
    except (KeyError, IndexError, TypeError):  # the error may be that the id is missing
        return ""
    if len(path) >= 4 and path[2] == "charts" and isinstance(path[3], int):
        with contextlib.suppress(KeyError, IndexError, TypeError):
            title = doc["sections"][path[1]]["charts"][path[3]]["title"]
            parts.append(f"chart {_one_line(title)!r}")
    return " (" + ", ".join(parts) + ")"


def axis_scale(chart: Mapping[str, Any], axis: str) -> str:
    """The effective scale of a lines chart's ``axis`` ("x" or "y"): linear, log or probit."""
    scale = chart.get(f"{axis}_scale")
    if chart.get(f"{axis}_log"):
        if scale not in (None, "log"):
            raise ValueError(f"{axis}_log is true but {axis}_scale is {scale!r}")
        return "log"
    return scale or "linear"


def _chart_problem(chart: Mapping[str, Any]) -> str | None:
    """What is wrong with a chart's shape that the schema cannot express, or None."""
    kind = chart["kind"]
    if kind == "lines":
        for axis in ("x", "y"):
            try:
                axis_scale(chart, axis)
            except ValueError as exc:
                return str(exc)
        for s in chart["series"]:
            if len(s["x"]) != len(s["y"]):
                return (
                    f"series {_one_line(s['name'])!r} has {len(s['x'])} x values "
                    f"but {len(s['y'])} y values"
                )
    elif kind == "bars":
        for s in chart["series"]:
            if len(s["values"]) != len(chart["labels"]):
                return (
                    f"series {_one_line(s['name'])!r} has {len(s['values'])} values "
                    f"for {len(chart['labels'])} labels"
                )
    elif kind == "boxes":
        return _boxes_problem(chart)
    elif kind == "heatmap":
        if len(chart["values"]) != len(chart["rows"]):
            return f"{len(chart['values'])} value rows for {len(chart['rows'])} row labels"
        for label, row in zip(chart["rows"], chart["values"], strict=True):
            if len(row) != len(chart["columns"]):
                return (
                    f"row {_one_line(label)!r} has {len(row)} values "
                    f"for {len(chart['columns'])} columns"
                )
    return None


def check_sections(sections: Sequence[Mapping[str, Any]]) -> None:
    """Raise ReportError when a schema-valid section's parts disagree in length.

    Section ids must be unique (they become HTML anchors); table rows must have one cell
    per column; a lines series one y per x; a bars series one value per label; a heatmap
    one row of ``len(columns)`` values per row label; a boxes chart a safe image URI (see
    `image_uri_problem`) and finite sizes and coordinates. The message names the section
    id and the chart title.
    """
    seen: set[str] = set()
    for section in sections:
        name = f"report section {_one_line(section['id'])!r}"
        if section["id"] in seen:
            raise ReportError(f"{name} appears more than once", hint=_BUG_HINT)
        seen.add(section["id"])
        table = section.get("table")
        if table is not None:
            for i, row in enumerate(table["rows"]):
                if len(row) != len(table["columns"]):
                    raise ReportError(
                        f"{name} table row {i} has {len(row)} cells "
                        f"for {len(table['columns'])} columns",
                        hint=_BUG_HINT,
                    )
        for chart in section.get("charts", []):
            problem = _chart_problem(chart)
            if problem:
                raise ReportError(
                    f"{name} chart {_one_line(chart['title'])!r}: {problem}", hint=_BUG_HINT
                )


# --------------------------------------------------------------------------- formatting


def is_number(value: Any) -> bool:
    """True for a finite int/float (bool excluded)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def format_number(value: Any) -> str:
    """Format a metric value compactly (four significant digits); None/NaN become "—"."""
    if not is_number(value):
        return MISSING
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.4g}"


def format_score(value: Any) -> str:
    """Format a 0..1 score with three decimals."""
    return f"{value:.3f}" if is_number(value) else MISSING


def format_estimate(value: Any, ci_low: Any = None, ci_high: Any = None, stderr: Any = None) -> str:
    """Value with its uncertainty: ``0.723 [0.69, 0.755]``, else ``0.723 ± 0.012``."""
    text = format_number(value)
    if not is_number(value):
        return text
    if is_number(ci_low) and is_number(ci_high):
        return f"{text} [{format_number(ci_low)}, {format_number(ci_high)}]"
    if is_number(stderr):
        return f"{text} ± {format_number(stderr)}"
    return text


def direction_text(direction: str) -> str:
    """Human wording of a metric direction."""
    return "lower is better" if direction == "lower" else "higher is better"


def threshold_text(threshold: Any, direction: str) -> str:
    """``≥ 0.8`` for higher-is-better thresholds, ``≤ 0.8`` for lower-is-better."""
    if not is_number(threshold):
        return MISSING
    return f"{'≤' if direction == 'lower' else '≥'} {format_number(threshold)}"


def format_plain(value: Any) -> str:
    """Format any environment/config value as short single-line text."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return format_number(value) if is_number(value) else MISSING
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={format_plain(v)}" for k, v in value.items()) or MISSING
    if isinstance(value, list | tuple):
        return ", ".join(format_plain(v) for v in value) or MISSING
    return str(value)


def sample_failed(sample: Mapping[str, Any], rules: Iterable[FailRule] | None = None) -> bool:
    """A sample counts as a failure when a score is on its failing side: `rules` (a standard's,
    from `pingce.core.sample_failure.standard_rules`), or the registered metrics' rules."""
    from pingce.core.sample_failure import registered_rules
    from pingce.core.sample_failure import sample_failed as failed

    return failed(sample.get("scores", {}), registered_rules() if rules is None else rules)


def primary_metric(task: Mapping[str, Any]) -> dict[str, Any] | None:
    """The task's primary metric entry, or None when the task did not record it."""
    return task.get("metrics", {}).get(task.get("primary_metric", ""))


def environment_rows(env: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Environment fields other than the package map, as (key, text) rows."""
    return [(str(k), format_plain(v)) for k, v in env.items() if k != "packages"]


def package_rows(env: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Installed package versions sorted by name."""
    packages = env.get("packages") or {}
    return sorted((str(k), format_plain(v)) for k, v in packages.items())


# --------------------------------------------------------------------------- JSON


def json_safe(value: Any) -> Any:
    """Copy ``value`` with NaN/±inf replaced by None, since JSON has no such numbers."""
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        # numpy scalars pass schema checks as numbers but json cannot encode them.
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def render_json(doc: Mapping[str, Any]) -> str:
    """Validate and serialise the document; non-finite numbers become null."""
    validate_report(doc)
    # default=str: free-form sections (config, extra) may hold paths or dates; a report
    # at the end of a long run should not die over them.
    return (
        json.dumps(json_safe(doc), indent=2, ensure_ascii=False, allow_nan=False, default=str)
        + "\n"
    )


# --------------------------------------------------------------------------- Markdown


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
        if metric["unit"]:
            value += f" {metric['unit']}"
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


def format_cell(value: Any) -> str:
    """A section table cell as text: numbers via `format_number`, null (or NaN) as "—"."""
    return value if isinstance(value, str) else format_number(value)


def _md_chart(chart: Mapping[str, Any]) -> list[str]:
    """A one-line mention of a chart; bars and heatmaps also keep their data as a table.

    A boxes chart is named with its caption and box counts; its image stays out of Markdown.
    """
    if chart["kind"] == "boxes":
        caption = " · ".join(
            _one_line(line) for line in str(chart.get("caption") or "").splitlines() if line.strip()
        )
        return [
            f"image: {_one_line(chart['title'])}"
            + (f" — {caption}" if caption else "")
            + f" ({len(chart['gold'])} gold, {len(chart['pred'])} predicted boxes;"
            " see the HTML report)"
        ]
    unit = chart.get("unit") or ""
    line = f"chart: {_one_line(chart['title'])} (see the HTML report)"
    lines = [f"{line}; values in {_one_line(unit)}" if unit else line]
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
    title, title_zh = _one_line(section["title"]), _one_line(section["title_zh"])
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


def gpu_text(env: Mapping[str, Any]) -> str:
    """The run's GPUs as stored by `core.fingerprint.environment` (`gpus`: a list of
    {index, name, memory_mb}; empty when torch saw none)."""
    gpus = env.get("gpus", env.get("gpu"))
    if gpus is None:
        return MISSING
    if isinstance(gpus, list | tuple):
        if not gpus:
            return "none visible to torch"
        return ", ".join(
            f"{g.get('name', '?')} ({format_plain(g.get('memory_mb'))} MiB)"
            if isinstance(g, Mapping)
            else format_plain(g)
            for g in gpus
        )
    return format_plain(gpus)


def seed_text(doc: Mapping[str, Any]) -> str:
    """The seed the run used: the environment's `seed` (the run option), else the seed its
    standard resolved into the run settings (e.g. the llm default 1234)."""
    env = doc["run"]["environment"]
    for value in (
        env.get("seeds"),
        env.get("seed"),
        (doc["run"].get("config") or {}).get("settings", {}).get("seed"),
    ):
        if value is not None:
            return format_plain(value)
    return MISSING


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


def render_markdown(doc: Mapping[str, Any]) -> str:
    """Validate and render the document as GitHub-flavoured Markdown."""
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


# --------------------------------------------------------------------------- files


def _renderers() -> dict[str, Callable[[Mapping[str, Any]], str]]:
    # Imported here, not at the top: html.py imports this module for its helpers.
    from pingce.core.report.html import render_html

    return {"html": render_html, "md": render_markdown, "json": render_json}


def _fsync_dir(folder: Path) -> None:
    """Persist the rename itself; best effort, since not every platform allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to a temporary sibling, fsync it, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # os.open with 0o666 lets the umask decide, unlike mkstemp's private 0o600.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            # Stores written before model text was repaired may hold lone surrogates: replaced
            # here, so a report can be written for every stored run.
            fh.write(text.encode("utf-8", "replace"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _folder_error(out_dir: Path, exc: OSError) -> ReportError:
    reason = exc.strerror or exc.__class__.__name__
    return ReportError(
        f"cannot write the report to folder {out_dir}: {reason}",
        hint="choose another output folder, or check that it is a writable directory",
    )


def write_report(
    doc: Mapping[str, Any],
    out_dir: Path,
    formats: Sequence[str] = ("html", "md", "json"),
) -> list[Path]:
    """Render ``doc`` in each format and write report.<ext> files atomically into ``out_dir``."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ReportError(
            f"unknown report format {unknown[0]!r}",
            hint=f"choose from {', '.join(FORMATS)}",
        )
    wanted = list(dict.fromkeys(formats))  # drop duplicates, keep order
    renderers = _renderers()
    # Render everything before touching the disk so a bad document leaves no partial set.
    texts = {fmt: renderers[fmt](doc) for fmt in wanted}
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for fmt in wanted:
            path = out_dir / FORMATS[fmt]
            _atomic_write(path, texts[fmt])
            paths.append(path)
    except OSError as exc:
        raise _folder_error(out_dir, exc) from exc
    _fsync_dir(out_dir)
    return paths
