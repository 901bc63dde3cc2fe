"""`pingce data process --executor ray` on a real local Ray with two CPUs.

References: the local executor (`run_pipeline` with processes) on the same input — every output
part, every audit and problems file (decompressed, byte for byte) and every funnel counter must
be identical — and the generator's ground-truth duplicate labels for dedup precision/recall
(`generator.dedup_scores`). Ray starts once for the module (a few seconds) and is shut down at
the end; each Ray run is a few seconds.
"""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

ray = pytest.importorskip("ray", reason="the Ray executor needs the ray extra (pip install ray)")
pytest.importorskip("ray.data", reason="the Ray executor needs Ray Data (pyarrow, pandas)")

from pingce.data.generator import (  # noqa: E402
    CorpusConfig,
    dedup_scores,
    generate,
    read_jsonl,
    write_corpus,
)
from pingce.data.io.readers import _open_binary  # noqa: E402
from pingce.data.pipeline import run_pipeline  # noqa: E402
from pingce.data.pipeline_spec import load_pipeline  # noqa: E402

# Ray Data's own context copies set deprecated names; nothing pingce does.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")

# Cleaning, language, heuristic filters, PII, exact + near dedup, and a map operator after the
# dedups (so the last segment applies a dedup decision and then filters).
OPERATORS: list[Any] = [
    "fix_encoding",
    {"normalize": {"form": "NFKC"}},
    "clean_whitespace",
    {"language": {"keep": ["en", "zh"], "candidates": ["en", "zh", "de", "fr"]}},
    "gopher_quality",
    "gopher_repetition",
    "c4_quality",
    "fineweb_quality",
    {"pii": {"action": "mask"}},
    "exact_dedup",
    {"minhash_dedup": {"ngram": 5, "permutations": 112, "bands": 14}},
    "toxic_words",
]

# Helper modules the Ray workers import (toxic_words' classifier hook): on PYTHONPATH.
HELPERS = """
from pathlib import Path

def _log(name, texts):
    with (Path(__file__).parent / name).open("a") as fh:
        fh.write(f"{len(texts)}\\n")

def count(texts):
    _log("count.log", texts)
    return [0.0] * len(texts)

def crash(texts):
    _log("crash.log", texts)
    if (Path(__file__).parent / "crash.flag").exists() and any("doc-0000239" in t for t in texts):
        raise RuntimeError("simulated crash")
    return [0.0] * len(texts)
"""


@pytest.fixture(scope="module")
def helpers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("helpers")
    (folder / "pingce_ray_helpers.py").write_text(HELPERS, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def local_ray(helpers: Path) -> Any:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level=logging.WARNING,
        object_store_memory=256 * 1024 * 1024,
        runtime_env={"env_vars": {"PYTHONPATH": str(helpers)}},
    )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """~400 English and Chinese documents in 3 gzip shards, plus a file with bad lines."""
    root = tmp_path_factory.mktemp("corpus")
    recs = generate(CorpusConfig(docs=400, seed=7, exact_dup_rate=0.08, near_dup_rate=0.12))
    write_corpus(recs, root / "raw" / "c.jsonl.gz", shards=3)
    (root / "raw" / "bad.jsonl").write_bytes(b'{"text": "ok text"}\nnot json\n{"id": 2}\n')
    return root, recs


def _pipeline(root: Path, out: str, operators: list[Any], **output: Any) -> Path:
    spec = {
        "input": {"path": "raw"},
        "output": {"path": out, "format": "jsonl.zst", "max_docs_per_file": 40, **output},
        "operators": operators,
        "batch_size": 24,  # several batches per shard: audit order depends on batch bounds
    }
    path = root / f"{out}.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def _files(folder: Path) -> dict[str, bytes]:
    """Every output/audit file, decompressed (compressed bytes may differ only by framing)."""
    out: dict[str, bytes] = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name in ("stats.json", "_pipeline.json", ".pingce-output"):
            continue
        rel = str(p.relative_to(folder))
        if p.suffix == ".parquet":
            import pyarrow.parquet as pq

            out[rel] = json.dumps(pq.read_table(p).to_pylist(), sort_keys=True).encode()
        else:
            with _open_binary(str(p)) as fh:
                out[rel] = fh.read()
    return out


def _comparable(stats: dict[str, Any]) -> dict[str, Any]:
    """Stats without timings and executor facts (the only fields allowed to differ)."""
    funnel = [{k: v for k, v in s.items() if k != "seconds"} for s in stats["funnel"]]
    return {
        "shards": stats["shards"],
        "reader": stats["reader"],
        "funnel": funnel,
        "documents_out": stats["documents_out"],
    }


def _removed_by_dedup(folder: Path) -> set[str]:
    rows = [r for p in sorted((folder / "audit").glob("removed-*")) for r in read_jsonl(p)]
    return {r["id"] for r in rows if r["operator"] in ("exact_dedup", "minhash_dedup")}


@pytest.fixture(scope="module")
def runs(local_ray: Any, corpus: tuple[Path, list[dict[str, Any]]]) -> dict[str, Any]:
    """The same pipeline on the local executor (2 processes) and on Ray."""
    root, _ = corpus
    local = run_pipeline(
        load_pipeline(_pipeline(root, "local", OPERATORS)), workers=2, show_progress=False
    )
    on_ray = run_pipeline(
        load_pipeline(_pipeline(root, "ray", OPERATORS)), executor="ray", show_progress=False
    )
    return {"local": local, "ray": on_ray, "root": root}


def test_ray_output_audit_and_funnel_equal_local(runs: dict[str, Any]) -> None:
    root = runs["root"]
    assert runs["ray"]["executor"] == "ray" and runs["ray"]["workers"] == 2
    local, on_ray = _files(root / "local"), _files(root / "ray")
    assert sorted(on_ray) == sorted(local)
    assert any(name.startswith("part-") for name in local)
    assert any(name.startswith("audit/removed-s2-") for name in local)  # three segments
    assert "audit/problems-00000.jsonl" in local
    for name, data in local.items():
        assert on_ray[name] == data, name  # same documents, same order, same annotations
    assert _comparable(runs["ray"]) == _comparable(runs["local"])
    # The funnel is consistent and something was removed by each kind of operator.
    by_name = {s["name"]: s for s in runs["ray"]["funnel"]}
    assert by_name["exact_dedup"]["removed"] > 0 and by_name["minhash_dedup"]["removed"] > 0
    assert by_name["gopher_quality"]["removed"] > 0
    assert not (root / "ray" / ".pingce-work").exists()


def test_ray_dedup_precision_recall_equal_local(
    runs: dict[str, Any], corpus: tuple[Path, list[dict[str, Any]]]
) -> None:
    root, recs = corpus
    removed_ray = _removed_by_dedup(root / "ray")
    removed_local = _removed_by_dedup(root / "local")
    assert removed_ray == removed_local
    # Against the generator's ground truth, among the documents that reached the dedups
    # (the heuristic filters may remove a duplicate first).
    reached = {
        r["id"]
        for r in recs
        if r["id"] not in _removed_before_dedup(root / "ray") and r["gt_kind"] != "low_quality"
    }
    truth = [r for r in recs if r["id"] in reached]
    s_ray = dedup_scores(truth, removed_ray & reached)
    assert s_ray == dedup_scores(truth, removed_local & reached)
    assert s_ray["precision"] >= 0.97 and s_ray["recall"] >= 0.9, s_ray
    assert s_ray["recall_zh"] >= 0.9 and s_ray["recall_en"] >= 0.9, s_ray
    # Cluster ids: every removed duplicate names a kept document as its cluster.
    audit = [r for p in sorted((root / "ray" / "audit").glob("removed-*")) for r in read_jsonl(p)]
    clusters = {r["meta"]["dup_cluster"] for r in audit if r["operator"] == "minhash_dedup"}
    written = {r["id"] for p in sorted((root / "ray").glob("part-*")) for r in read_jsonl(p)}
    kept_ids = written | {r["id"] for r in audit if r["operator"] == "toxic_words"}
    assert clusters and clusters <= kept_ids


def _removed_before_dedup(folder: Path) -> set[str]:
    rows = [r for p in sorted((folder / "audit").glob("removed-s0-*")) for r in read_jsonl(p)]
    return {r["id"] for r in rows}


def test_dedup_first_verify_threshold_and_parquet(
    local_ray: Any, corpus: tuple[Path, list[dict[str, Any]]]
) -> None:
    """A pipeline that starts with a dedup (segment 0 has no map operator), a signature check
    on the LSH candidates, and Parquet output."""
    root, _ = corpus
    ops = [
        {"minhash_dedup": {"permutations": 128, "bands": 32, "verify_threshold": 0.8}},
        {"exact_dedup": {"strip_punctuation": True}},
        "clean_whitespace",
    ]
    local = run_pipeline(
        load_pipeline(_pipeline(root, "v-local", ops, format="parquet")), show_progress=False
    )
    on_ray = run_pipeline(
        load_pipeline(_pipeline(root, "v-ray", ops, format="parquet")),
        executor="ray",
        show_progress=False,
    )
    assert _comparable(on_ray) == _comparable(local)
    assert _files(root / "v-ray") == _files(root / "v-local")
    assert local["funnel"][0]["removed"] > 0


def test_crashed_ray_run_resumes_by_segment(
    local_ray: Any,
    helpers: Path,
    corpus: tuple[Path, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, _ = corpus
    monkeypatch.syspath_prepend(str(helpers))  # the driver checks the classifier loads
    ops = [
        {"toxic_words": {"words": ["zzzz"], "classifier": "pingce_ray_helpers:count"}},
        "exact_dedup",
        {"toxic_words": {"words": ["zzzz"], "classifier": "pingce_ray_helpers:crash"}},
    ]
    # The crash hook fires on a text that mentions doc-0000239: make one.
    recs = read_jsonl(root / "raw" / "c-001.jsonl.gz")
    raw2 = root / "raw2"
    write_corpus(
        recs[:-1] + [{**recs[-1], "text": recs[-1]["text"] + " doc-0000239"}], raw2 / "c.jsonl"
    )
    path = _pipeline(root, "crashy", ops)
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec["input"]["path"] = "raw2"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")

    flag = helpers / "crash.flag"
    flag.write_text("1", encoding="utf-8")
    with pytest.raises(Exception, match="simulated crash"):
        run_pipeline(load_pipeline(path), executor="ray", show_progress=False)
    work = root / "crashy" / ".pingce-work"
    assert (work / "segment-0" / "shard-00000.stats.json").is_file()
    assert (work / "segment-0" / "decided").is_file()
    assert not (root / "crashy" / "stats.json").exists()
    assert not list((root / "crashy").glob("part-*"))  # nothing half-written looks finished
    counted = (helpers / "count.log").read_text()

    flag.unlink()
    stats = run_pipeline(load_pipeline(path), executor="ray", show_progress=False)
    assert (helpers / "count.log").read_text() == counted  # segment 0 was not run again
    assert stats["documents_out"] > 0 and not work.exists()
    # And the resumed result is the local executor's.
    spec["output"]["path"] = "crashy-local"
    local_path = root / "crashy-local.yaml"
    local_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    local = run_pipeline(load_pipeline(local_path), show_progress=False)
    assert _comparable(stats) == _comparable(local)
    assert _files(root / "crashy") == _files(root / "crashy-local")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_executor_errors_are_one_line(
    local_ray: Any, corpus: tuple[Path, list[dict[str, Any]]], pingce_cli: Any
) -> None:
    from typer.testing import CliRunner

    from pingce.cli import app

    root, _ = corpus
    path = _pipeline(root, "cli", ["clean_whitespace"])
    # The real command (a subprocess, no Ray running in it): one line on stderr, exit 2.
    address = f"ray://127.0.0.1:{_closed_port()}"
    res = pingce_cli(["data", "process", str(path), "-q", "--executor", address], root)
    assert res.returncode == 2, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"cannot reach the Ray cluster at {address}" in lines[0], lines
    res = pingce_cli(["data", "process", str(path), "-q", "--executor", "rayy"], root)
    assert res.returncode == 2 and "--executor must be local, ray, auto or ray://" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    # And the working form, on the module's Ray.
    res = CliRunner().invoke(app, ["data", "process", str(path), "-q", "--executor", "ray"])
    assert res.exit_code == 0, res.output
    assert "funnel" in res.output
    assert json.loads((root / "cli" / "stats.json").read_text())["executor"] == "ray"


def test_strict_mode_error_from_a_ray_task_is_one_line(
    local_ray: Any, corpus: tuple[Path, list[dict[str, Any]]]
) -> None:
    """strict: true stops at the first bad line; the DataError raised inside a Ray Data task
    reaches the caller as itself (one line naming file and line), not as a Ray traceback."""
    from pingce.core.errors import DataError

    root, _ = corpus
    path = _pipeline(root, "strict", ["clean_whitespace"])
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec["input"]["strict"] = True
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(DataError) as err:
        run_pipeline(load_pipeline(path), executor="ray", show_progress=False)
    assert err.value.one_line().startswith(f"{root / 'raw' / 'bad.jsonl'}:2: invalid JSON")
