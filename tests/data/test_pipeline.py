"""`pingce data process`: funnel counters, audit files, workers, resume by shard, YAML errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pingce.core.errors import SpecError
from pingce.data.generator import CorpusConfig, generate, read_jsonl, write_corpus
from pingce.data.pipeline import run_pipeline
from pingce.data.pipeline_spec import load_pipeline

OPERATORS = [
    "fix_encoding",
    {"normalize": {"form": "NFKC"}},
    "clean_whitespace",
    {"language": {"keep": ["en", "zh"], "candidates": ["en", "zh", "de", "fr"]}},
    "gopher_quality",
    "gopher_repetition",
    "c4_quality",
    "fineweb_quality",
    {"pii": {"action": "mask"}},
    "toxic_words",
    "exact_dedup",
    {"minhash_dedup": {"ngram": 5, "permutations": 112, "bands": 14}},
]


def _setup(tmp_path: Path, out: str, workers: int = 1, extra_ops: list | None = None) -> Path:
    recs = generate(CorpusConfig(docs=240, seed=5))
    write_corpus(recs, tmp_path / "raw" / "c.jsonl.gz", shards=2)
    (tmp_path / "raw" / "bad.jsonl").write_bytes(b'{"text": "ok text"}\nnot json\n{"id": 2}\n')
    spec = {
        "input": {"path": "raw"},
        "output": {"path": out, "format": "jsonl.zst", "max_docs_per_file": 50},
        "operators": (extra_ops or []) + OPERATORS,
        "workers": workers,
        "batch_size": 64,
    }
    path = tmp_path / f"{out}.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def _outputs(folder: Path) -> list[dict]:
    return sorted(
        (r for p in sorted(folder.glob("part-*.jsonl.zst")) for r in read_jsonl(p)),
        key=lambda r: r["id"],
    )


def test_funnel_audit_and_workers(tmp_path: Path) -> None:
    stats = run_pipeline(load_pipeline(_setup(tmp_path, "one")), show_progress=False)
    reader = stats["reader"]
    assert reader["documents"] == 241 and reader["problems_by_kind"] == {
        "invalid_json": 1,
        "missing_field": 1,
    }
    assert {(Path(p["file"]).name, p["line"]) for p in reader["first_problems"]} == {
        ("bad.jsonl", 2),
        ("bad.jsonl", 3),
    }
    previous = reader["documents"]
    for step in stats["funnel"]:
        assert step["docs_in"] == previous, step
        assert step["docs_in"] == step["kept"] + step["removed"]
        previous = step["kept"]
    removed = [
        r for p in (tmp_path / "one" / "audit").glob("removed-*.jsonl.zst") for r in read_jsonl(p)
    ]
    assert len(removed) == reader["documents"] - stats["documents_out"]
    assert all(r["reason"] and r["operator"] and r["source"] for r in removed)
    out = _outputs(tmp_path / "one")
    assert len(out) == stats["documents_out"]
    # Duplicates are gone; the kept member of each cluster says which cluster it heads.
    assert not any(r["gt_kind"] in ("exact_dup", "near_dup") for r in out)
    assert any("dup_cluster" in r.get("pingce", {}) for r in out)
    assert not any("@example." in r["text"] for r in out)  # PII masked
    # Two worker processes give the same output.
    stats2 = run_pipeline(load_pipeline(_setup(tmp_path, "two", workers=2)), show_progress=False)
    assert stats2["workers"] == 2
    assert _outputs(tmp_path / "two") == out


def test_resume_by_shard(tmp_path: Path) -> None:
    flag = tmp_path / "crash"
    flag.write_text("1", encoding="utf-8")
    (tmp_path / "crashy.py").write_text(
        "from pathlib import Path\n"
        f"FLAG = Path({str(flag)!r})\n"
        f"LOG = Path({str(tmp_path / 'calls.log')!r})\n"
        "def score(texts):\n"
        "    with LOG.open('a') as fh:\n"
        "        fh.write(f'{len(texts)}\\n')\n"
        "    if FLAG.exists() and any('doc-0000239' in t for t in texts):\n"
        "        raise RuntimeError('simulated crash')\n"
        "    return [0.0] * len(texts)\n",
        encoding="utf-8",
    )
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        # The corpus text never contains ids, so tag the crashing doc through its id field.
        ops = [{"toxic_words": {"words": ["zzzz"], "classifier": "crashy:score"}}]
        path = _setup(tmp_path, "out", extra_ops=ops)
        recs = read_jsonl(tmp_path / "raw" / "c-001.jsonl.gz")
        for r in recs:
            if r is recs[-1]:
                r["text"] += " doc-0000239"
        write_corpus(recs, tmp_path / "raw" / "c-001.jsonl.gz")
        with pytest.raises(RuntimeError, match="simulated crash"):
            run_pipeline(load_pipeline(path), show_progress=False)
        work = tmp_path / "out" / ".pingce-work" / "segment-0"
        done = sorted(p.name for p in work.glob("*.stats.json"))
        # Shards in name order: bad.jsonl, c-000, c-001 (which crashed).
        assert done == ["shard-00000.stats.json", "shard-00001.stats.json"]
        flag.unlink()
        (tmp_path / "calls.log").unlink()
        stats = run_pipeline(load_pipeline(path), show_progress=False)
        assert stats["reader"]["documents"] == 241
        assert stats["funnel"][0]["docs_in"] == 241
        # Only the crashed shard was processed again.
        calls = [int(x) for x in (tmp_path / "calls.log").read_text().split()]
        assert sum(calls) == len(recs)
        assert not (tmp_path / "out" / ".pingce-work").exists()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("crashy", None)


def test_yaml_errors_name_file_and_field(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(
        "input: {path: x}\noutput: {path: o}\noperators:\n  - no_such_op\n", encoding="utf-8"
    )
    with pytest.raises(SpecError, match="unknown data operator 'no_such_op'"):
        load_pipeline(p)
    p.write_text(
        "input: {path: x}\noutput: {path: o}\noperators:\n  - gopher_quality: {min_doc_wrds: 3}\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as err:
        load_pipeline(p)
    assert f"{p}: operators.gopher_quality: min_doc_wrds: unknown field" in err.value.one_line()
    p.write_text("input: {path: x}\noutput: {path: o, format: xml}\n", encoding="utf-8")
    with pytest.raises(SpecError, match="output.format"):
        load_pipeline(p)


def test_cli_process_prints_funnel(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pingce.cli import app

    path = _setup(tmp_path, "cli")
    res = CliRunner().invoke(app, ["data", "process", str(path), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "funnel" in res.output and "minhash_dedup" in res.output
    assert json.loads((tmp_path / "cli" / "stats.json").read_text())["documents_out"] > 0
    res = CliRunner().invoke(app, ["data", "process", str(path), "--quiet"])
    assert "already complete" in res.output
