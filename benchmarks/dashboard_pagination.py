"""Dashboard pagination at scale: 10,000 runs and 1,000,000 records, SQLite and PostgreSQL.

Fills a fresh store (half the records in one large run, the rest 50 per run), creates the
dashboard's indexes, then times the first, middle and last page of the runs list and of the
large run's records with pingce's keyset pagination, against a baseline that is NOT an
independent tool: pingce's own OFFSET query (`offset_page`, `offset_records`: the same
SQLAlchemy query with LIMIT/OFFSET, the naive way; same database, same indexes, same
columns). `parity` is computed: the fraction of compared pages whose keyset rows equal the
OFFSET page's rows, and true only when every page agrees. Whole HTTP pages (filters,
template, counts) are timed through Starlette's TestClient as well.

PostgreSQL: PINGCE_TEST_PG_URL, else a throwaway server from tests/pg.py when PostgreSQL is
installed; skipped (and said so in the result) otherwise.

    .venv/bin/python benchmarks/dashboard_pagination.py [--runs 10000] [--records 1000000]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy
from rich.progress import Progress
from sqlalchemy import create_engine, select
from starlette.testclient import TestClient

from pingce.core.fingerprint import machine_summary
from pingce.core.store import Base, RecordRow, RunRow, Store, open_store
from pingce.web.app import create_app
from pingce.web.indexes import ensure_indexes
from pingce.web.records_query import list_records, offset_records
from pingce.web.runs_query import RunFilters, encode_cursor, list_runs, offset_page

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "dashboard_pagination.json"
PAGE = 50
REPEATS = 7
BIG_RUN = "bench-big"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TARGET_MS = 50.0


def compare_pages(keyset_ids: list[Any], offset_ids: list[Any]) -> dict[str, Any]:
    """One page check: the same rows in the same order, and how many rows differ."""
    same = keyset_ids == offset_ids
    return {
        "equal": same,
        "rows": len(offset_ids),
        "differing_rows": len(set(keyset_ids) ^ set(offset_ids)),
        "same_rows_any_order": set(keyset_ids) == set(offset_ids),
    }


def pages_parity(checks: dict[str, dict[str, Any]]) -> tuple[bool, float]:
    """(every page equal, fraction of pages equal); no page compared is no parity."""
    if not checks:
        return False, 0.0
    equal = sum(1 for c in checks.values() if c["equal"] and c["rows"] > 0)
    return equal == len(checks), equal / len(checks)


def median_ms(fn: Callable[[], Any], repeats: int = REPEATS) -> float:
    fn()  # warm caches: we measure steady-state page views
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def populate(store: Store, n_runs: int, n_records: int) -> dict[str, float]:
    """Fill the store through SQLAlchemy Core (the ORM's own tables and JSON handling)."""
    big = n_records // 2
    per_run = (n_records - big) // max(n_runs - 1, 1)
    runs_t, recs_t = RunRow.__table__, RecordRow.__table__
    started = time.perf_counter()
    with Progress(transient=True) as progress:
        job = progress.add_task("runs", total=n_runs)
        with store.engine.begin() as conn:
            batch = []
            for i in range(n_runs):
                created = T0 + timedelta(minutes=i)
                batch.append(
                    {
                        "id": BIG_RUN if i == n_runs - 1 else f"bench-{i:05d}",
                        "standard": ("llm", "server-perf", "data-quality")[i % 3],
                        "suite": f"bench/suite-{i % 20}",
                        "suite_title": f"Benchmark suite {i % 20}",
                        "subject": f"hf:bench/model-{i % 97}",
                        "subject_fingerprint": {},
                        "config": {"suite_spec": {"tasks": [{"id": f"t{k}"} for k in range(5)]}},
                        "config_hash": f"{i:016x}",
                        "environment": {"python": "3.11"},
                        "status": ("completed", "completed", "failed", "running")[i % 4],
                        "error": None,
                        "results": {"overall": {"score": (i % 100) / 100, "method": "bench"}},
                        "created_at": created,
                        "updated_at": created,
                        "finished_at": created,
                    }
                )
                if len(batch) == 5000:
                    conn.execute(runs_t.insert(), batch)
                    progress.advance(job, len(batch))
                    batch = []
            if batch:
                conn.execute(runs_t.insert(), batch)
                progress.advance(job, len(batch))
        job = progress.add_task("records", total=n_records)
        plan = [(BIG_RUN, big)] + [(f"bench-{i:05d}", per_run) for i in range(n_runs - 1)]
        now = T0
        batch = []
        for run_id, count in plan:
            for j in range(count):
                batch.append(
                    {
                        "run_id": run_id,
                        "task": f"t{j % 5}",
                        "key": f"{j:064x}",
                        "sample_id": f"s{j // 5}",
                        "position": j // 5,
                        "scores": {"acc": j % 3 and 1, "f1": (j % 7) / 7},
                        "data": {"prompt": f"Question {j}?", "output": f"answer {j % 11}"},
                        "created_at": now,
                    }
                )
                if len(batch) == 20_000:
                    with store.engine.begin() as conn:
                        conn.execute(recs_t.insert(), batch)
                    progress.advance(job, len(batch))
                    batch = []
        if batch:
            with store.engine.begin() as conn:
                conn.execute(recs_t.insert(), batch)
            progress.advance(job, len(batch))
    filled = time.perf_counter() - started
    t = time.perf_counter()
    failed = ensure_indexes(store)
    if failed:
        raise SystemExit(f"could not create indexes: {failed}")
    return {"fill_seconds": filled, "index_seconds": time.perf_counter() - t}


def run_cursor(store: Store, position: int) -> str:
    """Cursor of the row just before `position` in the newest-first order."""
    (row,) = offset_page(store, RunFilters(), position - 1, 1)
    return encode_cursor(row.created_at, row.id)


def record_cursor(store: Store, position: int) -> int:
    query = (
        select(RecordRow.id)
        .where(RecordRow.run_id == BIG_RUN)
        .order_by(RecordRow.id)
        .offset(position - 1)
        .limit(1)
    )
    with store.session() as s:
        return int(s.scalar(query))


def measure(store: Store, n_runs: int, n_records: int) -> dict[str, Any]:
    big = n_records // 2
    out: dict[str, Any] = {"runs": {}, "records": {}, "http_ms": {}, "page_checks": {}}
    runs_mid, runs_last = (n_runs // 2 // PAGE) * PAGE, n_runs - PAGE
    mid_cursor = run_cursor(store, runs_mid)
    for name, offset, call in (
        ("first", 0, lambda: list_runs(store, RunFilters(), page_size=PAGE)),
        ("middle", runs_mid, lambda: list_runs(store, RunFilters(), after=mid_cursor)),
        ("last", runs_last, lambda: list_runs(store, RunFilters(), last=True)),
    ):
        keyset_ids = [r.id for r in call().items]
        naive_ids = [r.id for r in offset_page(store, RunFilters(), offset, PAGE)]
        out["page_checks"][f"runs_{name}"] = compare_pages(keyset_ids, naive_ids)
        out["runs"][name] = {
            "offset": offset,
            "keyset_ms": median_ms(call),
            "offset_ms": median_ms(lambda o=offset: offset_page(store, RunFilters(), o, PAGE)),
        }
    rec_mid, rec_last = (big // 2 // PAGE) * PAGE, big - PAGE
    mid_after = record_cursor(store, rec_mid)
    for name, offset, rcall in (
        ("first", 0, lambda: list_records(store, BIG_RUN, page_size=PAGE)),
        ("middle", rec_mid, lambda: list_records(store, BIG_RUN, after=mid_after)),
        ("last", rec_last, lambda: list_records(store, BIG_RUN, last=True)),
    ):
        keyset_ids = [r.id for r in rcall().rows]
        naive_ids = [r.id for r in offset_records(store, BIG_RUN, offset, PAGE)]
        out["page_checks"][f"records_{name}"] = compare_pages(keyset_ids, naive_ids)
        out["records"][name] = {
            "offset": offset,
            "keyset_ms": median_ms(rcall),
            "offset_ms": median_ms(lambda o=offset: offset_records(store, BIG_RUN, o, PAGE)),
        }
    out["records"]["failures_last"] = {
        "keyset_ms": median_ms(lambda: list_records(store, BIG_RUN, failures=True, last=True))
    }
    out["records"]["task_middle"] = {
        "keyset_ms": median_ms(lambda: list_records(store, BIG_RUN, task="t2", after=mid_after))
    }
    client = TestClient(create_app(store, create_indexes=False), base_url="http://127.0.0.1:8765")
    for name, path in (
        ("runs_first", "/"),
        ("runs_middle", f"/?after={mid_cursor}"),
        ("runs_last", "/?last=1"),
        ("runs_filtered", "/?standard=llm&status=completed&q=model-5"),
        ("records_first", f"/runs/{BIG_RUN}/samples"),
        ("records_middle", f"/runs/{BIG_RUN}/samples?after={mid_after}"),
        ("records_last", f"/runs/{BIG_RUN}/samples?last=1"),
        ("records_failures", f"/runs/{BIG_RUN}/samples?failures=1&last=1"),
    ):
        assert client.get(path).status_code == 200, path
        out["http_ms"][name] = median_ms(lambda p=path: client.get(p), repeats=5)
    return out


def _pg_url() -> tuple[str | None, Any, str]:
    url = os.environ.get("PINGCE_TEST_PG_URL")
    if url:
        return url, None, "PINGCE_TEST_PG_URL"
    spec = importlib.util.spec_from_file_location("pingce_tests_pg", ROOT / "tests" / "pg.py")
    assert spec and spec.loader
    pg = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = pg
    spec.loader.exec_module(pg)
    try:
        server = pg.start_postgres()
    except pg.PgUnavailable as exc:
        return None, None, str(exc)
    return server.url, server, "throwaway server from tests/pg.py"


def bench_backend(url: str, n_runs: int, n_records: int) -> dict[str, Any]:
    engine = create_engine(url)
    Base.metadata.drop_all(engine)  # a fresh database every time
    engine.dispose()
    store = open_store(url)
    try:
        info = populate(store, n_runs, n_records)
        if store.engine.dialect.name == "postgresql":
            with store.engine.begin() as conn:
                conn.execute(sqlalchemy.text("ANALYZE"))
        info.update(measure(store, n_runs, n_records))
        info["server_version"] = ".".join(
            str(v) for v in store.engine.dialect.server_version_info or ()
        )
        return info
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="pingce-dash-bench-") as tmp:
        print("sqlite ...", flush=True)
        results["sqlite"] = bench_backend(f"sqlite:///{tmp}/bench.db", args.runs, args.records)
    pg_note = "skipped (--no-postgres)"
    if not args.no_postgres:
        url, server, pg_note = _pg_url()
        if url:
            print(f"postgresql ({pg_note}) ...", flush=True)
            try:
                results["postgresql"] = bench_backend(url, args.runs, args.records)
            finally:
                if server is not None:
                    server.stop()
        else:
            pg_note = f"skipped: {pg_note}"

    def side(kind: str) -> dict[str, Any]:
        return {
            backend: {
                "runs_ms": {k: v[f"{kind}_ms"] for k, v in r["runs"].items()},
                "records_ms": {
                    k: v[f"{kind}_ms"] for k, v in r["records"].items() if f"{kind}_ms" in v
                },
            }
            for backend, r in results.items()
        }

    all_checks = {
        f"{backend}_{page}": check
        for backend, r in results.items()
        for page, check in r["page_checks"].items()
    }
    parity, equal_fraction = pages_parity(all_checks)
    sqlite = results["sqlite"]
    keyset_worst = max(
        v["keyset_ms"] for part in ("runs", "records") for v in sqlite[part].values()
    )
    anchor_last = sqlite["records"]["last"]["offset_ms"]
    pingce_last = sqlite["records"]["last"]["keyset_ms"]
    doc = {
        "name": "dashboard_pagination",
        "machine": machine_summary(),
        "task": (
            f"{args.runs:,} runs and {args.records:,} records ({args.records // 2:,} in one run); "
            f"pages of {PAGE} rows: first, middle and last of the runs list (newest first) and "
            "of the large run's records; median of "
            f"{REPEATS} after a warm-up"
        ),
        "anchor": {
            "tool": "pingce's own LIMIT/OFFSET query (offset_page/offset_records), not an "
            "independent tool: the naive way, same SQLAlchemy query, same indexes",
            "version": f"SQLAlchemy {sqlalchemy.__version__}",
            "seconds": anchor_last / 1000,
            "what": "last page of the large run's records, SQLite",
            **side("offset"),
        },
        "pingce": {
            "seconds": pingce_last / 1000,
            "what": "last page of the large run's records, SQLite (keyset)",
            **side("keyset"),
            "http_page_ms": {b: r["http_ms"] for b, r in results.items()},
            "fill_and_index_seconds": {
                b: {"fill": r["fill_seconds"], "index": r["index_seconds"]}
                for b, r in results.items()
            },
        },
        "ratio": anchor_last / pingce_last,
        "target": (
            f"every keyset page query <= {TARGET_MS:.0f} ms at 10k runs / 1M records, and the "
            "last page no slower than 2x the first"
        ),
        "parity": parity,
        "parity_detail": {
            "definition": "every compared keyset page holds exactly the rows, in order, of "
            "the OFFSET page at the same position (both backends)",
            "pages_compared": len(all_checks),
            "pages_equal_fraction": equal_fraction,
            "page_checks": all_checks,
            "worst_keyset_query_ms_sqlite": keyset_worst,
            "meets_target_sqlite": keyset_worst <= TARGET_MS,
        },
        "notes": " ".join(
            [
                "The anchor is pingce's own OFFSET query on the same store, a baseline for the "
                "speed of keyset paging and a check of its rows, not an independent tool.",
                f"PostgreSQL: {pg_note}",
                "Keyset pages seek on (created_at, id) for runs and on record id within a run, "
                "through indexes pingce.web.indexes creates at start-up.",
                "HTTP page times include filters, capped counts and template rendering "
                "(Starlette TestClient, no network).",
                "pingce's runs-list times include the capped count of matching runs (up to 10,001 "
                "rows), which the OFFSET anchor does not do; at 10,000 runs SQLite's OFFSET scan is "
                "still sub-millisecond, and the gap opens on the 500,000-record run.",
                f"Load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
                "(a shared machine; medians of repeated page fetches).",
            ]
        ),
    }
    if "postgresql" in results:
        pg = results["postgresql"]
        doc["postgresql_server"] = pg["server_version"]
        doc["parity_detail"]["worst_keyset_query_ms_postgresql"] = max(
            v["keyset_ms"] for part in ("runs", "records") for v in pg[part].values()
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
