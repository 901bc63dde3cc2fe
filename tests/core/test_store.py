"""The results store on SQLite and on a real PostgreSQL server.

PostgreSQL comes from `PINGCE_TEST_PG_URL` when it is set (CI); otherwise a throwaway server is
started for the session with tests/pg.py, and the PostgreSQL cases are skipped, with the
reason, when that is impossible here. The database behind the URL is emptied before each test.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError

from pingce.core.errors import StoreError
from pingce.core.store import Base, Store, open_store, records_as_dicts


def _load_pg_helper() -> Any:
    path = Path(__file__).resolve().parents[1] / "pg.py"
    spec = importlib.util.spec_from_file_location("pingce_tests_pg", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


pg = _load_pg_helper()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url = os.environ.get("PINGCE_TEST_PG_URL")
    if url:
        yield url
        return
    try:
        server = pg.start_postgres()
    except pg.PgUnavailable as exc:
        pytest.skip(f"PostgreSQL store tests skipped: {exc} (or set PINGCE_TEST_PG_URL)")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        engine = create_engine(url)
        try:
            Base.metadata.drop_all(engine)
        finally:
            engine.dispose()
    s = open_store(url)
    yield s
    s.close()


def make_run(store: Store, run_id: str, **fields: Any) -> Any:
    values: dict[str, Any] = {
        "id": run_id,
        "standard": "llm",
        "suite": "llm/quick",
        "suite_title": "Quick",
        "subject": "hf:./tiny",
        "subject_fingerprint": {"backend": "hf", "digest": "abc"},
        "config": {"options": {"seed": 1}},
        "config_hash": "0123456789abcdef",
        "environment": {"python": "3.11"},
        "status": "created",
    }
    values.update(fields)
    return store.create_run(**values)


def rec(key: str, task: str = "t", position: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "task": task,
        "key": key,
        "sample_id": f"s-{key}",
        "position": position,
        "scores": {"acc": 1.0},
        "data": {"output": key},
        **extra,
    }


# ---- runs --------------------------------------------------------------------------------------
def test_create_and_get_run(store: Store) -> None:
    created = make_run(store, "2026-01-01T00-00-00-aaaa")
    assert created.created_at is not None and created.updated_at == created.created_at
    row = store.get_run("2026-01-01T00-00-00-aaaa")
    assert row.id == "2026-01-01T00-00-00-aaaa"
    assert (row.standard, row.suite, row.subject) == ("llm", "llm/quick", "hf:./tiny")
    assert row.status == "created"
    assert row.subject_fingerprint == {"backend": "hf", "digest": "abc"}
    assert row.config == {"options": {"seed": 1}}
    assert row.results is None and row.error is None and row.finished_at is None


def test_get_run_by_unique_prefix(store: Store) -> None:
    make_run(store, "2026-01-01T00-00-00-aaaa")
    make_run(store, "2026-01-01T00-00-00-aabb")
    make_run(store, "2026-01-02T00-00-00-cccc")
    assert store.get_run("2026-01-02").id == "2026-01-02T00-00-00-cccc"
    assert store.get_run("2026-01-01T00-00-00-aab").id == "2026-01-01T00-00-00-aabb"
    # Issue 15: an ambiguous prefix says so and lists the matches (it used to say "no run").
    with pytest.raises(
        StoreError, match="'2026-01-01T00-00-00-aa' is ambiguous: 2 runs match"
    ) as e:
        store.get_run("2026-01-01T00-00-00-aa")
    assert "2026-01-01T00-00-00-aaaa, 2026-01-01T00-00-00-aabb" in str(e.value)
    with pytest.raises(StoreError, match="no run 'zz'"):
        store.get_run("zz")


def test_prefix_wildcards_are_literal(store: Store) -> None:
    make_run(store, "run-x1")
    with pytest.raises(StoreError):
        store.get_run("run%")
    with pytest.raises(StoreError):
        store.get_run("run_x")
    assert store.get_run("run-").id == "run-x1"


def test_latest_is_the_last_created(store: Store) -> None:
    with pytest.raises(StoreError):
        store.get_run("latest")
    # Created within the same second: 'latest' must still be the last one.
    for run_id in ("r-b", "r-c", "r-a"):
        make_run(store, run_id)
    assert store.get_run("latest").id == "r-a"
    assert [r.id for r in store.list_runs()] == ["r-a", "r-c", "r-b"]


def test_list_runs_filters_and_limits(store: Store) -> None:
    make_run(store, "r1")
    make_run(store, "r2", standard="perf")
    make_run(store, "r3")
    assert [r.id for r in store.list_runs(standard="llm")] == ["r3", "r1"]
    assert [r.id for r in store.list_runs(limit=1)] == ["r3"]


def test_unknown_run_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError) as info:
        store.get_run("nope")
    assert info.value.message.startswith("no run 'nope' in ")
    assert "pingce list runs" in (info.value.hint or "")
    with pytest.raises(StoreError, match="no run 'nope'"):
        store.update_run("nope", status="running")


def test_update_run_statuses(store: Store) -> None:
    make_run(store, "r")
    store.update_run("r", status="running", error=None)
    row = store.get_run("r")
    assert row.status == "running" and row.finished_at is None
    for status in ("interrupted", "failed", "completed"):
        store.update_run("r", status=status, error=f"because {status}")
        row = store.get_run("r")
        assert row.status == status
        assert row.error == f"because {status}"
        assert row.finished_at is not None
        assert row.finished_at == row.updated_at
    store.update_run("r", results={"overall": {"score": 0.5}})
    assert store.get_run("r").results == {"overall": {"score": 0.5}}


# ---- records -----------------------------------------------------------------------------------
def test_add_records_skips_stored_and_repeated_keys(store: Store) -> None:
    make_run(store, "r")
    assert store.add_records("r", []) == 0
    assert store.add_records("r", [rec("k1"), rec("k2", position=1)]) == 2
    # k2 is already stored; k3 appears twice in the batch.
    batch = [rec("k2", position=1), rec("k3", position=2), rec("k3", position=2)]
    assert store.add_records("r", batch) == 1
    assert store.count_records("r") == 3
    assert store.existing_keys("r") == {"k1", "k2", "k3"}


def test_add_records_is_one_transaction(store: Store) -> None:
    make_run(store, "r")
    bad = rec("k3")
    del bad["sample_id"]  # NOT NULL: the whole batch must roll back
    with pytest.raises(IntegrityError):
        store.add_records("r", [rec("k1"), rec("k2"), bad])
    assert store.count_records("r") == 0
    assert store.add_records("r", [rec("k1"), rec("k2")]) == 2


def test_keys_are_per_run(store: Store) -> None:
    make_run(store, "a")
    make_run(store, "b")
    store.add_records("a", [rec("k1")])
    assert store.add_records("b", [rec("k1")]) == 1
    assert store.count_records("a") == store.count_records("b") == 1
    assert store.count_records("missing") == 0


def test_existing_keys_by_task(store: Store) -> None:
    make_run(store, "r")
    store.add_records("r", [rec("a1", task="a"), rec("a2", task="a"), rec("b1", task="b")])
    assert store.existing_keys("r", "a") == {"a1", "a2"}
    assert store.existing_keys("r", "b") == {"b1"}
    assert store.existing_keys("r", "c") == set()
    assert store.existing_keys("other") == set()


def test_records_are_ordered_by_task_then_position(store: Store) -> None:
    make_run(store, "r")
    store.add_records("r", [rec("b2", "b", 2), rec("a1", "a", 1)])
    store.add_records("r", [rec("b0", "b", 0), rec("a0", "a", 0), rec("b1", "b", 1)])
    assert [r.key for r in store.records("r")] == ["a0", "a1", "b0", "b1", "b2"]
    assert [r.key for r in store.records("r", task="b")] == ["b0", "b1", "b2"]
    first = store.records("r")[0]
    assert first.id is not None and first.created_at is not None and first.run_id == "r"
    assert records_as_dicts(store.records("r", task="a"))[0] == rec("a0", "a", 0)


def test_json_round_trip(store: Store) -> None:
    data = {
        "prompt": "问题：中国的首都是哪里？\n答案：",
        "output": "北京 — “引号” 'quotes' \\ backslash \t tab 🙂",
        "nested": {"list": [1, 2.5, None, True, False, "二"], "empty": {}, "zero": 0},
        "precise": 0.1 + 0.2,
        "tiny": 5e-324,
        "big": 2**53 + 1,
        "loglikelihoods": [-1.25, float("-inf")],
        "not_a_tag": {"$float": "abc"},
    }
    scores = {"acc": 1.0, "ppl": [float("nan"), float("inf"), -12.5, 3, 4.0, 17]}
    make_run(
        store,
        "r",
        config={"title_zh": "大模型快速评测", "options": {"limit": None, "seed": 1234}},
        results={"overall": {"score": float("nan")}, "notes": ["说明"]},
    )
    store.add_records("r", [rec("k", scores=scores, data=data)])
    got = store.records("r")[0]
    assert got.data["prompt"] == data["prompt"]
    assert got.data["output"] == data["output"]
    assert got.data["nested"] == data["nested"]
    assert got.data["precise"] == 0.1 + 0.2
    assert got.data["tiny"] == 5e-324
    assert got.data["big"] == 2**53 + 1
    assert got.data["not_a_tag"] == {"$float": "abc"}
    assert got.data["loglikelihoods"] == [-1.25, float("-inf")]
    assert got.scores["acc"] == 1.0
    nan, inf, *rest = got.scores["ppl"]
    assert math.isnan(nan) and inf == float("inf") and rest == [-12.5, 3, 4.0, 17]
    run = store.get_run("r")
    assert run.config == {"title_zh": "大模型快速评测", "options": {"limit": None, "seed": 1234}}
    assert math.isnan(run.results["overall"]["score"])
    assert run.results["notes"] == ["说明"]


# ---- opening -----------------------------------------------------------------------------------
def test_plain_path_is_a_sqlite_store(tmp_path: Path) -> None:
    s = open_store(str(tmp_path / "sub" / "plain.db"))
    try:
        assert s.url == f"sqlite:///{(tmp_path / 'sub' / 'plain.db').resolve()}"
        make_run(s, "r")
        assert (tmp_path / "sub" / "plain.db").is_file()
    finally:
        s.close()


def test_default_url_comes_from_pingce_db(tmp_path: Path) -> None:
    s = open_store()
    try:
        assert s.url == os.environ["PINGCE_DB"]
        assert str(tmp_path) in s.url
    finally:
        s.close()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://pingce:s3cret-pw@127.0.0.1:1/pingce",  # nothing listens on port 1
        "nosuchdialect://user:s3cret-pw@host/db",
    ],
)
def test_unreachable_or_unknown_database_is_one_line(url: str) -> None:
    with pytest.raises(StoreError) as info:
        open_store(url)
    line = info.value.one_line()
    assert line.startswith("cannot open results store ")
    assert "\n" not in line
    assert "s3cret-pw" not in line  # passwords never reach messages


def test_sqlite_under_a_regular_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as info:
        open_store(f"sqlite:///{blocker / 'sub' / 'x.db'}")
    assert "cannot create the store folder" in info.value.one_line()


def test_sqlite_path_that_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        open_store(f"sqlite:///{tmp_path}")
    assert info.value.one_line().startswith("cannot open results store")
