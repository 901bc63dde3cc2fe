"""Page handlers: runs list, run page, sample browser, compare, leaderboard, exports, progress.

Each handler is `(dashboard, request) -> Response` and only reads. Request parameters are
validated here (BadRequest -> 400 page); runs and records that do not exist are NotFound
(-> 404 page).
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from pingce.core.errors import PingceError
from pingce.core.integrity import verify_runs
from pingce.core.report import render_html, render_json, render_markdown
from pingce.core.report.charts import ci_bars_svg
from pingce.core.report.html import capability_chart, section_views, task_chart
from pingce.core.report.render import environment_rows, package_rows, primary_metric
from pingce.core.sample_failure import standard_rules
from pingce.core.store import RunRow
from pingce.web.app import Dashboard, seg, url
from pingce.web.charts import overlay_radar_svg
from pingce.web.comparison import (
    compare_pair,
    dimension_matrix,
    leaderboard,
    leaderboard_chart,
    suite_overview,
    task_matrix,
)
from pingce.web.downloads import table_response
from pingce.web.errors import BadRequest, NotFound
from pingce.web.records_query import (
    get_record,
    list_records,
    matching_records,
    parse_record_cursor,
    task_counts,
)
from pingce.web.runs_query import (
    facets,
    filters_from_query,
    list_runs,
    parse_page_size,
    runs_of_suite,
)
from pingce.web.samples import (
    audio_uri,
    block_kind,
    picture_svg,
    sample_view,
    viewer_of,
)
from pingce.web.trends import trend, trend_charts

MAX_COMPARE = 8
EXPORT_RUNS_MAX = 10_000  # runs in one download of the runs list
TABLE_FORMATS = ("csv", "json")
EXPORTS = {
    "json": ("application/json; charset=utf-8", render_json),
    "md": ("text/markdown; charset=utf-8", render_markdown),
    "html": ("text/html; charset=utf-8", render_html),
}


def _download_format(request: Request) -> str | None:
    """The `format` query parameter of a table download: csv, json, or None (the page)."""
    fmt = request.query_params.get("format", "")
    if not fmt:
        return None
    if fmt not in TABLE_FORMATS:
        raise BadRequest(f"format must be csv or json, got {fmt!r}")
    return fmt


def _with_format(request: Request, fmt: str) -> str:
    """This page's URL with `format=fmt` (the download links)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k != "format"]
    return url(request.url.path, [*items, ("format", fmt)])


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "") in {"1", "on", "true", "yes"}


def _canonical(request: Request, row: RunRow) -> Response | None:
    """Redirect 'latest' or an id prefix to the run's own URL."""
    asked = request.path_params["run_id"]
    if asked == row.id:
        return None
    prefix = f"/runs/{asked}"
    path = request.url.path
    suffix = path[path.find(prefix) + len(prefix) :] if prefix in path else ""
    path = f"/runs/{seg(row.id)}{suffix}"
    return RedirectResponse(url(path, list(request.query_params.multi_items())), 303)


# --------------------------------------------------------------------------- runs list


def runs_page(dash: Dashboard, request: Request) -> Response:
    params = request.query_params
    filters = filters_from_query(params)
    fmt = _download_format(request)
    if fmt is not None:  # every matching run (up to EXPORT_RUNS_MAX), newest first
        runs = list_runs(dash.store, filters, page_size=EXPORT_RUNS_MAX).items
        columns = ["run", "standard", "suite", "subject", "status", "overall", "created_at"]
        rows = [
            [r.id, r.standard, r.suite, r.subject, r.status, r.overall, r.created_at.isoformat()]
            for r in runs
        ]
        return table_response(fmt, "pingce-runs", columns, rows)
    size = parse_page_size(params.get("limit"))
    page = list_runs(
        dash.store,
        filters,
        after=params.get("after") or None,
        before=params.get("before") or None,
        last=_flag(request, "last"),
        page_size=size,
    )
    keep = filters.query_items() + ([("limit", str(size))] if params.get("limit") else [])
    # Every listed score is checked against its run's digest, so the list never shows a
    # score that the run page (recomputed from the records) contradicts without a warning.
    integrity = verify_runs(dash.store, page.items)
    return dash.page(
        "runs.html.j2",
        page=page,
        integrity=integrity,
        modified=[r.id for r in page.items if integrity[r.id].modified],
        facets=facets(dash.store),
        filters=filters,
        keep=keep,
        downloads={f: _with_format(request, f) for f in TABLE_FORMATS},
    )


# --------------------------------------------------------------------------- run page


def _doc_or_error(dash: Dashboard, row: RunRow) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return dash.docs.get(row), None
    except PingceError as exc:  # e.g. the run's standard is not installed here
        return None, exc.one_line()


def run_page(dash: Dashboard, request: Request) -> Response:
    row = dash.run_or_404(request.path_params["run_id"])
    if (redirect := _canonical(request, row)) is not None:
        return redirect
    doc, problem = _doc_or_error(dash, row)
    context: dict[str, Any] = {
        "row": row,
        "doc": doc,
        "problem": problem,
        "records": dash.store.count_records(row.id),
        "others": runs_of_suite(dash.store, row.suite, exclude=row.id),
        "live": row.status in {"created", "running"},
        "env_rows": environment_rows(row.environment or {}),
        "packages": package_rows(row.environment or {}),
    }
    if doc is not None:
        verdicts = [i for i in doc["indicators"] if i["verdict"] is not None]
        context.update(
            capability_svg=capability_chart(doc["dimensions"]) if doc["dimensions"] else None,
            task_svg=task_chart(doc["tasks"]) if doc["tasks"] else None,
            task_rows=[
                {
                    "task": t,
                    "metric": primary_metric(t),
                    "others": [(k, m) for k, m in t["metrics"].items() if k != t["primary_metric"]],
                }
                for t in doc["tasks"]
            ],
            sections=section_views(doc),
            verdicts=verdicts,
            passed=sum(1 for i in verdicts if i["verdict"] == "pass"),
        )
    return dash.page("run.html.j2", **context)


def progress(dash: Dashboard, request: Request) -> Response:
    """Small JSON the run page polls while a run is in progress."""
    row = dash.run_or_404(request.path_params["run_id"])
    counts = task_counts(dash.store, row.id)
    return JSONResponse(
        {
            "run": row.id,
            "status": row.status,
            "records": sum(counts.values()),
            "tasks": counts,
            "updated_at": row.updated_at.isoformat() if row.updated_at else None,
            "finished_at": row.finished_at.isoformat() if row.finished_at else None,
            "error": row.error,
        }
    )


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_CSP_META = re.compile(r'http-equiv="Content-Security-Policy" content="([^"]+)"')


def export(dash: Dashboard, request: Request) -> Response:
    """The run's report rendered on the fly: no file is read or written."""
    fmt = request.path_params["fmt"]
    if fmt not in EXPORTS:
        raise NotFound(f"no export format {fmt!r}; use json, md or html")
    row = dash.run_or_404(request.path_params["run_id"])
    doc, problem = _doc_or_error(dash, row)
    if doc is None:
        raise NotFound(f"run {row.id} has no report here: {problem}")
    media_type, render = EXPORTS[fmt]
    body = render(doc)
    name = f"pingce-{_SAFE_NAME.sub('_', row.id)}.{fmt}"
    disposition = "attachment" if _flag(request, "download") else "inline"
    headers = {"content-disposition": f'{disposition}; filename="{name}"'}
    if fmt == "html":
        # The report allows exactly its own inline script (by hash); the dashboard's policy
        # ('self' scripts only) would block it, so the report's stricter one is sent instead.
        meta = _CSP_META.search(body)
        if meta:
            headers["content-security-policy"] = (
                meta.group(1) + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
            )
    return Response(body.encode("utf-8", "replace"), media_type=media_type, headers=headers)


# --------------------------------------------------------------------------- samples


def _vs_runs(dash: Dashboard, request: Request, row: RunRow) -> list[RunRow]:
    others = []
    for rid in request.query_params.getlist("vs"):
        if not rid:
            continue
        other = dash.run_or_404(rid)
        if other.id != row.id and all(o.id != other.id for o in others):
            others.append(other)
    if len(others) > MAX_COMPARE - 1:
        raise BadRequest(f"at most {MAX_COMPARE - 1} runs can be shown beside a run")
    return others


def _task_ids(dash: Dashboard, row: RunRow) -> list[str]:
    spec_tasks = (row.config or {}).get("suite_spec", {}).get("tasks", [])
    ids = [t["id"] for t in spec_tasks if isinstance(t, dict) and "id" in t]
    return ids or list(task_counts(dash.store, row.id))


def samples_page(dash: Dashboard, request: Request) -> Response:
    row = dash.run_or_404(request.path_params["run_id"])
    if (redirect := _canonical(request, row)) is not None:
        return redirect
    params = request.query_params
    tasks = _task_ids(dash, row)
    task = params.get("task", "")
    if task and task not in tasks:
        raise BadRequest(f"run {row.id} has no task {task!r}")
    failures = _flag(request, "failures")
    vs = _vs_runs(dash, request, row)
    size = parse_page_size(params.get("limit"))
    page = list_records(
        dash.store,
        row.id,
        task=task,
        failures=failures,
        after=parse_record_cursor(params.get("after"), "after"),
        before=parse_record_cursor(params.get("before"), "before"),
        last=_flag(request, "last"),
        page_size=size,
    )
    rules = standard_rules(row.standard)
    viewer = viewer_of(row.standard)
    samples = [sample_view(r, rules, viewer) for r in page.rows]
    keys = [(s.task, s.sample_id) for s in samples]
    beside = []
    for other in vs:
        found = matching_records(dash.store, other.id, keys)
        theirs, their_viewer = standard_rules(other.standard), viewer_of(other.standard)
        beside.append(
            (
                other,
                [sample_view(found[k], theirs, their_viewer) if k in found else None for k in keys],
            )
        )
    keep: list[tuple[str, Any]] = [("task", task), ("failures", "1" if failures else "")]
    keep += [("vs", o.id) for o in vs]
    if params.get("limit"):
        keep.append(("limit", size))
    return dash.page(
        "samples.html.j2",
        row=row,
        tasks=tasks,
        task=task,
        failures=failures,
        vs=vs,
        vs_params=[("vs", o.id) for o in vs],
        page=page,
        samples=samples,
        columns=viewer.columns,
        beside=beside,
        keep=keep,
        others=runs_of_suite(dash.store, row.suite, exclude=row.id),
    )


def sample_page(dash: Dashboard, request: Request) -> Response:
    row = dash.run_or_404(request.path_params["run_id"])
    if (redirect := _canonical(request, row)) is not None:
        return redirect
    record = get_record(dash.store, row.id, request.path_params["record_id"])
    if record is None:
        raise NotFound(f"run {row.id} has no record {request.path_params['record_id']}")
    view = sample_view(record, standard_rules(row.standard), viewer_of(row.standard))
    columns = [(row, view, _blocks(dash, view))]
    for other in _vs_runs(dash, request, row):
        found = matching_records(dash.store, other.id, [(record.task, record.sample_id)])
        match = found.get((record.task, record.sample_id))
        theirs = (
            sample_view(match, standard_rules(other.standard), viewer_of(other.standard))
            if match
            else None
        )
        columns.append((other, theirs, _blocks(dash, theirs) if theirs else []))
    return dash.page(
        "sample.html.j2",
        row=row,
        record=record,
        columns=columns,
        others=runs_of_suite(dash.store, row.suite, exclude=row.id),
    )


def _blocks(dash: Dashboard, view: Any) -> list[dict[str, Any]]:
    """A record's view blocks for the sample template: pictures as escaped SVG, audio as a
    data: URI only from under the media folder, the rest as data the template escapes."""
    out: list[dict[str, Any]] = []
    for block in view.blocks:
        kind = block_kind(block)
        item: dict[str, Any] = {"kind": kind, "block": block}
        if kind == "picture":
            item["svg"] = Markup(picture_svg(block, dash.media_root))
            item["shown"] = dash.media_root is not None
        elif kind == "sound":
            item["uri"] = audio_uri(block.path, dash.media_root)
        elif kind == "table":
            item["rows"] = list(
                zip(block.rows, [*block.kinds, *[""] * len(block.rows)], strict=False)
            )
        out.append(item)
    return out


# --------------------------------------------------------------------------- compare


def compare_page(dash: Dashboard, request: Request) -> Response:
    ids = list(dict.fromkeys(r for r in request.query_params.getlist("run") if r))
    if len(ids) < 2:
        raise BadRequest("pick at least two runs to compare (run=A&run=B)")
    if len(ids) > MAX_COMPARE:
        raise BadRequest(f"at most {MAX_COMPARE} runs can be compared at once")
    rows = [dash.run_or_404(r) for r in ids]
    docs, problems = [], []
    for row in rows:
        doc, problem = _doc_or_error(dash, row)
        docs.append(doc)
        if problem:
            problems.append(f"{row.id}: {problem}")
    usable = [d for d in docs if d is not None]
    checked = verify_runs(dash.store, rows)
    integrity_warnings = [
        w for r in rows if (w := checked[r.id].warning(r.id) or _doc_warning(docs, r)) is not None
    ]
    pairs = [compare_pair(dash.store, rows[0], other) for other in rows[1:]]
    fmt = _download_format(request)
    if fmt is not None:
        columns = ["baseline", "run", "task", "metric", "direction", "value_baseline", "value_run",
                   "delta", "ci_low", "ci_high", "p_value", "n_paired", "test", "outcome"]  # fmt: skip
        table = [
            [p.baseline, p.other, d.d.task, d.d.metric, d.d.direction, d.d.value_a, d.d.value_b,
             d.d.delta, d.d.ci_low, d.d.ci_high, d.d.p_value, d.d.n, d.d.method, d.outcome]
            for p in pairs for d in p.rows
        ]  # fmt: skip
        return table_response(fmt, "pingce-compare", columns, table)
    complete = len(usable) == len(rows)
    suites = list(dict.fromkeys(r.suite for r in rows))
    boards = [leaderboard(dash.store, s, limit=10) for s in suites]
    board_modified = _modified_board_runs(dash, boards)
    return dash.page(
        "compare.html.j2",
        rows=rows,
        problems=problems,
        integrity_warnings=list(dict.fromkeys(integrity_warnings)),
        tasks=task_matrix(usable) if complete else [],
        dimensions=dimension_matrix(usable) if complete else [],
        radar=_compare_radar(usable) if complete else None,
        task_bars=_compare_task_bars(usable) if complete else None,
        pairs=pairs,
        boards=boards,
        board_modified=board_modified,
        board_charts=[leaderboard_chart(b) for b in boards],
        downloads={f: _with_format(request, f) for f in TABLE_FORMATS},
    )


def _compare_radar(docs: list[dict[str, Any]]) -> Markup | None:
    """Every run's capability dimensions on one radar (three dimensions or more)."""
    labels: dict[str, str] = {}
    for doc in docs:
        for dim in doc["dimensions"]:
            labels.setdefault(dim["id"], f"{dim['name']} {dim.get('name_zh', '')}".strip())
    if len(labels) < 3:
        return None
    runs = []
    for doc in docs:
        scores = {d["id"]: d.get("score") for d in doc["dimensions"]}
        runs.append((doc["run"]["id"], [scores.get(k) for k in labels]))
    return overlay_radar_svg(list(labels.values()), runs)


def _compare_task_bars(docs: list[dict[str, Any]]) -> Markup | None:
    """Each task's primary metric per run, with its 95 % CI whiskers, grouped by task."""
    rows: list[Any] = []
    seen: list[str] = []
    for doc in docs:
        for task in doc["tasks"]:
            if task["id"] not in seen:
                seen.append(task["id"])
    for tid in seen:
        for doc in docs:
            task = next((t for t in doc["tasks"] if t["id"] == tid), None)
            metric = primary_metric(task) if task else None
            if metric is None:
                continue
            scale = metric.get("scale") if metric.get("scale") else None
            label = f"{tid} · {task['primary_metric']}\n{doc['run']['id']}"
            rows.append((label, metric.get("value"), metric.get("ci_low"), metric.get("ci_high"), scale))  # fmt: skip
    return Markup(ci_bars_svg(rows)) if rows else None


def _doc_warning(docs: list[dict[str, Any] | None], row: RunRow) -> str | None:
    for doc in docs:
        if doc is not None and doc["run"]["id"] == row.id:
            return doc.get("integrity", {}).get("warning")
    return None


def leaderboard_page(dash: Dashboard, request: Request) -> Response:
    suite = request.query_params.get("suite", "")
    fmt = _download_format(request)
    if not suite:
        suites = suite_overview(dash.store)
        if fmt is not None:
            return table_response(fmt, "pingce-suites", ["suite", "standard", "completed_runs"], suites)  # fmt: skip
        return dash.page(
            "leaderboards.html.j2",
            suites=suites,
            downloads={f: _with_format(request, f) for f in TABLE_FORMATS},
        )
    board = leaderboard(dash.store, suite)
    if fmt is not None:
        columns = ["rank", "subject", "run", "created_at", "overall", *[f"{c.task} {c.metric}" for c in board.columns]]  # fmt: skip
        rows = [[r.rank, r.subject, r.run_id, r.created_at.isoformat(), r.overall, *r.values] for r in board.rows]  # fmt: skip
        return table_response(fmt, f"pingce-leaderboard-{suite}", columns, rows)
    return dash.page(
        "leaderboard.html.j2",
        board=board,
        board_modified=_modified_board_runs(dash, [board]),
        board_chart=leaderboard_chart(board),
        downloads={f: _with_format(request, f) for f in TABLE_FORMATS},
    )


def trends_page(dash: Dashboard, request: Request) -> Response:
    suite = request.query_params.get("suite", "")
    if not suite:
        raise BadRequest("pick a suite (trends?suite=SUITE[&subject=SUBJECT])")
    subject = request.query_params.get("subject", "")
    t = trend(dash.store, suite, subject)
    fmt = _download_format(request)
    if fmt is not None:
        columns = ["run", "subject", "created_at", "overall"]
        for c in t.columns:
            columns += [f"{c.task} {c.metric}", f"{c.task} ci_low", f"{c.task} ci_high"]
        rows = []
        for p in t.points:
            row = [p.run_id, p.subject, p.created_at.isoformat(), p.overall]
            for c in t.columns:
                row += list(p.values.get(c.task, (None, None, None)))
            rows.append(row)
        return table_response(fmt, f"pingce-trend-{suite}", columns, rows)
    # Without a subject the trend already holds every subject's runs: no second query.
    subjects = sorted({p.subject for p in t.points}) if not subject else []
    return dash.page(
        "trends.html.j2",
        trend=t,
        charts=trend_charts(t),
        subjects=subjects,
        downloads={f: _with_format(request, f) for f in TABLE_FORMATS},
    )


def _modified_board_runs(dash: Dashboard, boards: list[Any]) -> list[str]:
    """Runs on these leaderboards whose records or saved scores changed after completion."""
    rows = [SimpleNamespace(id=r.run_id, status="completed") for b in boards for r in b.rows]
    return [rid for rid, found in verify_runs(dash.store, rows).items() if found.modified]
