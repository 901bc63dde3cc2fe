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
from pingce.core.report.html import capability_chart, section_views, task_chart
from pingce.core.report.render import environment_rows, package_rows, primary_metric
from pingce.core.sample_failure import standard_rules
from pingce.core.store import RunRow
from pingce.web.app import Dashboard, seg, url
from pingce.web.comparison import (
    compare_pair,
    dimension_matrix,
    leaderboard,
    suite_overview,
    task_matrix,
)
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

MAX_COMPARE = 8
EXPORTS = {
    "json": ("application/json; charset=utf-8", render_json),
    "md": ("text/markdown; charset=utf-8", render_markdown),
    "html": ("text/html; charset=utf-8", render_html),
}


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
    suites = list(dict.fromkeys(r.suite for r in rows))
    boards = [leaderboard(dash.store, s, limit=10) for s in suites]
    board_modified = _modified_board_runs(dash, boards)
    return dash.page(
        "compare.html.j2",
        rows=rows,
        problems=problems,
        integrity_warnings=list(dict.fromkeys(integrity_warnings)),
        tasks=task_matrix(usable) if len(usable) == len(rows) else [],
        dimensions=dimension_matrix(usable) if len(usable) == len(rows) else [],
        pairs=pairs,
        boards=boards,
        board_modified=board_modified,
    )


def _doc_warning(docs: list[dict[str, Any] | None], row: RunRow) -> str | None:
    for doc in docs:
        if doc is not None and doc["run"]["id"] == row.id:
            return doc.get("integrity", {}).get("warning")
    return None


def leaderboard_page(dash: Dashboard, request: Request) -> Response:
    suite = request.query_params.get("suite", "")
    if not suite:
        return dash.page("leaderboards.html.j2", suites=suite_overview(dash.store))
    board = leaderboard(dash.store, suite)
    return dash.page(
        "leaderboard.html.j2", board=board, board_modified=_modified_board_runs(dash, [board])
    )


def _modified_board_runs(dash: Dashboard, boards: list[Any]) -> list[str]:
    """Runs on these leaderboards whose records or saved scores changed after completion."""
    rows = [SimpleNamespace(id=r.run_id, status="completed") for b in boards for r in b.rows]
    return [rid for rid, found in verify_runs(dash.store, rows).items() if found.modified]
