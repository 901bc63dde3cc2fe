"""`pingce data evaluate` against `pingce data process` with the same rules, on the same corpus.

Issue 16: evaluating 20k documents took 12 min 45 s and 1 GB, against 2 min 54 s for the same
rules in `data process`. Evaluation must cost no more than processing. Both commands run as
child processes (the CLI a user runs) on one generated English/Chinese corpus
(`pingce data generate`, with duplicates and low-quality documents), with the same number of
worker processes:

- process: a pipeline with the measures evaluation takes (language identification, the four
  heuristic rule sets, PII and abusive-term annotation, exact and MinHash dedup), writing
  JSON Lines;
- evaluate: `data evaluate` (every measure, the topic model, the store, and the report files,
  which are part of what a user waits for).

Measured: wall seconds and peak RSS of the largest process (getrusage of the children, each
command measured in its own wrapper process). The "anchor" here is pingce's own `data
process`, not an independent tool: this benchmark checks a cost relation inside pingce.

Run: .venv/bin/python benchmarks/data_evaluate_vs_process.py [--docs 5000] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "data_evaluate_vs_process.json"
PINGCE = [sys.executable, "-m", "pingce.cli"]
WRAP = (
    "import resource, subprocess, sys, time, json; t = time.perf_counter(); "
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "print(json.dumps({'rc': rc, 'seconds': time.perf_counter() - t, "
    "'peak_rss_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))"
)


def timed(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", WRAP, *cmd], env=env, capture_output=True, text=True, check=True
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if res["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({res['rc']}): {out.stderr[-2000:]}")
    return res


def pipeline_yaml(data: Path, out: Path, workers: int) -> str:
    return json.dumps(
        {
            "input": {"path": str(data)},
            "output": {"path": str(out), "format": "jsonl"},
            "workers": workers,
            "audit": False,
            "operators": [
                {"language": {}},
                "gopher_quality",
                "gopher_repetition",
                "c4_quality",
                "fineweb_quality",
                {"pii": {"action": "annotate"}},
                {"toxic_words": {"action": "annotate"}},
                "exact_dedup",
                "minhash_dedup",
            ],
        }
    )  # JSON is YAML


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    from pingce.core.fingerprint import machine_summary

    with tempfile.TemporaryDirectory(prefix="pingce-eval-bench-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "PINGCE_DB": f"sqlite:///{work / 'store.db'}"}
        data = work / "corpus"
        data.mkdir()
        subprocess.run(
            [*PINGCE, "data", "generate", str(data / "c.jsonl.gz"), "--docs", str(args.docs),
             "--shards", str(args.shards), "--seed", "16"],
            env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        spec = work / "pipe.yaml"
        spec.write_text(pipeline_yaml(data, work / "clean", args.workers), encoding="utf-8")
        load = [os.getloadavg()[0]]
        process = timed([*PINGCE, "data", "process", str(spec), "-q"], env)
        load.append(os.getloadavg()[0])
        evaluate = timed(
            [*PINGCE, "data", "evaluate", str(data), "-q", "--report-dir", str(work / "report"),
             "--workers", str(args.workers)],
            env,
        )  # fmt: skip
        load.append(os.getloadavg()[0])
    eval_total = evaluate["seconds"]
    doc = {
        "name": "data_evaluate_vs_process",
        "machine": machine_summary(),
        "task": (
            f"{args.docs:,} generated English/Chinese documents in {args.shards} shards, "
            f"{args.workers} worker process(es) for both commands"
        ),
        "anchor": {
            "tool": "pingce data process (pingce's own processing command, not an independent "
            "tool): language, Gopher quality/repetition, C4, FineWeb, PII and abusive-term "
            "annotation, exact and MinHash dedup",
            "version": "this checkout",
            "seconds": process["seconds"],
            "peak_rss_mb": process["peak_rss_mb"],
        },
        "pingce": {
            "seconds": eval_total,
            "peak_rss_mb": evaluate["peak_rss_mb"],
        },
        "ratio": process["seconds"] / eval_total,
        "target": "data evaluate (with its report) costs no more time than data process with "
        "the same rules: ratio >= 1",
        "target_met": process["seconds"] >= eval_total,
        "parity": None,
        "notes": (
            "A cost comparison inside pingce, so there is no result parity to check (null). "
            "Evaluation runs every rule set on every document, while the pipeline's filters "
            "pass fewer documents to the later operators. "
            f"Load average before/between/after: {', '.join(f'{x:.1f}' for x in load)} on "
            f"{os.cpu_count()} CPUs (a shared machine)."
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
