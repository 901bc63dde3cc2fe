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

Measured: wall seconds, CPU seconds (user + system of the command and its children) and peak
RSS of the largest process (getrusage of the children, each command measured in its own
wrapper process). On a shared machine the wall time moves with other jobs' load; the CPU time
is the cost the command itself incurred, so the target is checked on both. At each corpus size
(`--docs 3000,20000`) the commands alternate over `--repeats` rounds (process first, then
evaluate first, ...) and the median of each is compared. The "anchor" here is pingce's own
`data process`, not an independent tool: this benchmark checks a cost relation inside pingce.

Run: .venv/bin/python benchmarks/data_evaluate_vs_process.py [--docs 3000,20000] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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
    "ru = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(json.dumps({'rc': rc, 'seconds': time.perf_counter() - t, "
    "'cpu_seconds': ru.ru_utime + ru.ru_stime, 'peak_rss_mb': ru.ru_maxrss / 1024}))"
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


def compare_size(docs: int, shards: int, workers: int, repeats: int) -> dict[str, Any]:
    """Time both commands on one generated corpus, alternating their order over `repeats`."""
    with tempfile.TemporaryDirectory(prefix="pingce-eval-bench-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "PINGCE_DB": f"sqlite:///{work / 'store.db'}"}
        data = work / "corpus"
        data.mkdir()
        subprocess.run(
            [*PINGCE, "data", "generate", str(data / "c.jsonl.gz"), "--docs", str(docs),
             "--shards", str(shards), "--seed", "16"],
            env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        spec = work / "pipe.yaml"
        commands = {
            "process": [*PINGCE, "data", "process", str(spec), "-q"],
            "evaluate": [
                *PINGCE, "data", "evaluate", str(data), "-q", "--report-dir",
                str(work / "report"), "--workers", str(workers),
            ],
        }  # fmt: skip
        runs: dict[str, list[dict[str, Any]]] = {"process": [], "evaluate": []}
        load = [os.getloadavg()[0]]
        for r in range(repeats):
            order = ("process", "evaluate") if r % 2 == 0 else ("evaluate", "process")
            for name in order:
                # a fresh output folder per process run (pingce never overwrites its output)
                spec.write_text(pipeline_yaml(data, work / f"clean-{r}", workers), encoding="utf-8")
                runs[name].append(timed(commands[name], env))
                load.append(os.getloadavg()[0])

    def med(name: str, key: str) -> float:
        return statistics.median(x[key] for x in runs[name])

    proc = {k: med("process", k) for k in ("seconds", "cpu_seconds", "peak_rss_mb")}
    ev = {k: med("evaluate", k) for k in ("seconds", "cpu_seconds", "peak_rss_mb")}
    return {
        "docs": docs,
        "shards": shards,
        "repeats": repeats,
        "process": {**proc, "runs": runs["process"]},
        "evaluate": {**ev, "runs": runs["evaluate"]},
        "ratio": proc["seconds"] / ev["seconds"],
        "cpu_ratio": proc["cpu_seconds"] / ev["cpu_seconds"],
        "target_met": proc["seconds"] >= ev["seconds"],
        "cpu_target_met": proc["cpu_seconds"] >= ev["cpu_seconds"],
        "load_average_1min": [round(x, 2) for x in load],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", default="3000,20000", help="corpus sizes, comma-separated")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--repeats", default="2,1", help="rounds per size, comma-separated")
    parser.add_argument("--out", type=Path, default=RESULT)
    parser.add_argument(
        "--include",
        type=Path,
        action="append",
        default=[],
        help="the output of another run of this script whose sizes join this result (sizes "
        "run in parallel; each keeps its own load averages)",
    )
    args = parser.parse_args()
    from pingce.core.fingerprint import machine_summary

    sizes = [int(x) for x in args.docs.split(",") if x]  # "" with --include: only merge
    reps = [int(x) for x in args.repeats.split(",")]
    reps += [reps[-1]] * (len(sizes) - len(reps))
    results = []
    for docs, repeats in zip(sizes, reps, strict=False):
        res = compare_size(docs, args.shards, args.workers, repeats)
        print(json.dumps({k: v for k, v in res.items() if k not in ("process", "evaluate")}))
        results.append(res)
    for path in args.include:
        results.extend(json.loads(path.read_text(encoding="utf-8"))["sizes"])
    results.sort(key=lambda r: r["docs"])
    sizes = [r["docs"] for r in results]
    largest = results[-1]
    doc = {
        "name": "data_evaluate_vs_process",
        "machine": machine_summary(),
        "task": (
            f"{', '.join(f'{d:,}' for d in sizes)} generated English/Chinese documents in "
            f"{args.shards} shards, {args.workers} worker process(es) for both commands"
        ),
        "anchor": {
            "tool": "pingce data process (pingce's own processing command, not an independent "
            "tool): language, Gopher quality/repetition, C4, FineWeb, PII and abusive-term "
            "annotation, exact and MinHash dedup",
            "version": "this checkout",
            "seconds": largest["process"]["seconds"],
            "cpu_seconds": largest["process"]["cpu_seconds"],
            "peak_rss_mb": largest["process"]["peak_rss_mb"],
        },
        "pingce": {
            "seconds": largest["evaluate"]["seconds"],
            "cpu_seconds": largest["evaluate"]["cpu_seconds"],
            "peak_rss_mb": largest["evaluate"]["peak_rss_mb"],
        },
        "sizes": results,
        "ratio": largest["ratio"],
        "target": "data evaluate (with its report) costs no more than data process with the "
        "same rules, at every size: process / evaluate >= 1 in wall seconds (ratio) and in CPU "
        "seconds (cpu_ratio)",
        "target_met": all(r["target_met"] for r in results),
        "cpu_target_met": all(r["cpu_target_met"] for r in results),
        "parity": None,
        "notes": (
            "A cost comparison inside pingce, so there is no result parity to check (null). "
            "Evaluation runs every rule set on every document, while the pipeline's filters "
            "pass fewer documents to the later operators. Top-level anchor/pingce/ratio are "
            "the largest size; every size is under `sizes` with its runs (median of the "
            "alternating repeats) and the 1-minute load average before the first and after "
            f"each run, on {os.cpu_count()} CPUs (a shared machine: wall seconds move with "
            "other jobs' load, CPU seconds much less)."
            + (
                f" Sizes merged from {len(args.include)} other run(s) of this script with "
                "--include: they ran at the same time, each adding to the other's load."
                if args.include
                else ""
            )
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: doc[k] for k in ("ratio", "target_met", "cpu_target_met")}, indent=2))


if __name__ == "__main__":
    main()
