"""Multiple-choice scoring speed and memory: pingce's hf backend against lm-evaluation-harness.

    python benchmarks/llm_mc_vs_lmeval.py            # full run (several minutes on 2 cores)
    python benchmarks/llm_mc_vs_lmeval.py --quick    # smoke run (about a minute)

Both tools score the same synthetic multiple-choice items with the same randomly initialised
Qwen2 model (built locally, fixed seed), on the CPU in float32, with batch size 16 and the
same thread count. Each (tool, task) pair runs in its own Python process, so start-up and peak
RSS are measured per tool and task. The scoring loop is timed inside each child by wrapping
`HFLM.loglikelihood` (lm-eval) or `HFCausalLM.loglikelihood` (pingce); both include
tokenisation. Per-sample log-likelihoods and accuracies of the two tools are compared
(parity). The result goes to benchmarks/results/llm_mc_vs_lmeval.json (see
benchmarks/README.md). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "llm_mc_vs_lmeval.json"
SEED = 20261128
TOL = 1e-4
TARGETS = {"scoring_ratio_b": 2, "scoring_ratio_a": 1, "wall_ratio": 2, "rss": "not above lm-eval"}

# The benchmark model: big enough that the forward passes, not Python bookkeeping, dominate.
MODEL_CONFIG = {
    "hidden_size": 256,
    "intermediate_size": 688,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "max_position_embeddings": 1024,
    "initializer_range": 0.1,  # larger than the default so choices are far from ties
    "tie_word_embeddings": True,
}

# A fixed vocabulary for the synthetic text (original word lists, no dataset content).
_WORD_TEXT = """
apple river stone window garden teacher market bridge candle forest morning winter summer
yellow quiet happy careful simple number letter paper pencil table chair kitchen bottle water
bread butter cheese carrot tomato orange lemon honey sugar salt pepper rice noodle soup tea
coffee milk juice school office station airport harbour island mountain valley desert ocean
cloud rain snow wind storm thunder light shadow colour music picture story poem song dance
game ball field road street corner house room door floor wall roof garden tree flower leaf
grass seed root branch bird fish horse sheep rabbit tiger monkey turtle dragon spider bee
clock watch phone computer screen button cable engine wheel bicycle train ship rocket planet
star moon sun earth metal glass wood cotton wool silk leather plastic copper silver gold iron
north south east west left right early late quick slow strong gentle bright dark warm cold
open close begin finish carry bring follow answer question reason result method system
number value measure weight length height distance minute hour week month year century
friend family parent child brother sister uncle neighbour doctor farmer baker driver pilot
writer painter singer player worker student reader builder keeper helper visitor stranger
"""
WORDS = _WORD_TEXT.split()


# ---------------------------------------------------------------------------------------------
# Setup: model, data, task files
# ---------------------------------------------------------------------------------------------
def build_model(folder: Path) -> Path:
    """A random Qwen2 with the demo model's tokenizer, saved to `folder` (fixed seed)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from pingce.llm.demo_model import ensure_demo_model

    if (folder / "config.json").is_file():
        return folder
    demo = ensure_demo_model()
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (demo / name).is_file():
            shutil.copy(demo / name, folder / name)
    demo_cfg = json.loads((demo / "config.json").read_text(encoding="utf-8"))
    config = Qwen2Config(
        vocab_size=demo_cfg["vocab_size"],
        eos_token_id=demo_cfg["eos_token_id"],
        pad_token_id=demo_cfg["pad_token_id"],
        bos_token_id=None,
        **MODEL_CONFIG,
    )
    torch.manual_seed(SEED)
    model = Qwen2ForCausalLM(config).eval()
    model.generation_config.max_new_tokens = None
    model.save_pretrained(folder)
    return folder


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _choices(rng: random.Random, low: int, high: int) -> list[str]:
    """Four distinct choices of `low` to `high` words."""
    choices: list[str] = []
    while len(choices) < 4:
        choice = _words(rng, rng.randint(low, high))
        if choice not in choices:
            choices.append(choice)
    return choices


def make_data(folder: Path, tokenizer_file: Path, n_a: int, n_b: int) -> dict[str, Path]:
    """Task a: short 4-choice questions. Task b: passages of >= 256 tokens, 4 longer choices."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_file))
    rng = random.Random(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    rows_a = []
    for i in range(n_a):
        choices = _choices(rng, 1, 3)
        rows_a.append(
            {
                "id": f"a{i}",
                "question": f"Question: {_words(rng, rng.randint(5, 10))}?\nAnswer:",
                "choices": choices,
                "answer": rng.randrange(4),
            }
        )
    rows_b = []
    for i in range(n_b):
        goal = rng.randint(256, 384)  # passage length in tokens
        passage = _words(rng, 40)
        while len(tok.encode(passage).ids) < goal:
            passage += " " + _words(rng, 4)
        question = f"{passage}.\nQuestion: which words came next?\nAnswer:"
        choices = _choices(rng, 3, 6)
        rows_b.append(
            {"id": f"b{i}", "question": question, "choices": choices, "answer": rng.randrange(4)}
        )
    paths = {}
    for name, rows in (("a", rows_a), ("b", rows_b)):
        path = folder / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        paths[name] = path
    return paths


def write_task_files(work: Path, data: dict[str, Path]) -> None:
    import yaml

    (work / "lmeval_tasks").mkdir(exist_ok=True)
    mean = {"aggregation": "mean", "higher_is_better": True}
    for name, path in data.items():
        lm_cfg = {
            "task": f"bench_mc_{name}",
            "dataset_path": "json",
            "dataset_kwargs": {
                "data_files": {"test": str(path)},
                "cache_dir": str(work / "hf-datasets"),
            },
            "test_split": "test",
            "output_type": "multiple_choice",
            "doc_to_text": "{{question}}",
            "doc_to_choice": "{{choices}}",
            "doc_to_target": "answer",
            "target_delimiter": " ",
            "num_fewshot": 0,
            "metric_list": [{"metric": "acc", **mean}, {"metric": "acc_norm", **mean}],
        }
        (work / "lmeval_tasks" / f"bench_mc_{name}.yaml").write_text(
            yaml.safe_dump(lm_cfg, sort_keys=False), encoding="utf-8"
        )
        suite = {
            "standard": "llm",
            "name": f"bench-mc-{name}",
            "tasks": [
                {
                    "id": f"mc-{name}",
                    "type": "multiple_choice",
                    "dataset": {"path": str(path)},
                    "prompt": "{{ question }}",
                    "choices": "choices",
                    "target": "answer",
                    "target_delimiter": " ",
                    "num_fewshot": 0,
                    "metrics": ["acc", "acc_norm"],
                }
            ],
        }
        (work / f"suite_{name}.yaml").write_text(
            yaml.safe_dump(suite, sort_keys=False), encoding="utf-8"
        )


# ---------------------------------------------------------------------------------------------
# Children: one tool on one task, in its own process
# ---------------------------------------------------------------------------------------------
class ScoringClock:
    """Wraps a method; adds up the seconds spent in it and counts the requests it got."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.cpu_seconds = 0.0  # this process's CPU time (all threads) in the same span
        self.requests = 0
        self.calls = 0
        self.first_call_at: float | None = None  # epoch seconds

    def wrap(self, cls: type, name: str) -> None:
        original = getattr(cls, name)
        clock = self

        def timed(self_: Any, requests: Any, *args: Any, **kwargs: Any) -> Any:
            if clock.first_call_at is None:
                clock.first_call_at = time.time()
            start = time.perf_counter()
            cpu = time.process_time()
            try:
                return original(self_, requests, *args, **kwargs)
            finally:
                clock.seconds += time.perf_counter() - start
                clock.cpu_seconds += time.process_time() - cpu
                clock.requests += len(requests)
                clock.calls += 1

        setattr(cls, name, timed)


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def child_lmeval(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.set_num_threads(args.threads)
    import lm_eval
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    clock = ScoringClock()
    clock.wrap(HFLM, "loglikelihood")
    # include_defaults=False: index only the benchmark's YAMLs. lm-eval's own CLI also indexes
    # its thousands of built-in tasks (several seconds more); this is lm-eval's fastest path.
    manager = TaskManager(include_path=str(args.workdir / "lmeval_tasks"), include_defaults=False)
    task = f"bench_mc_{args.task}"
    results = simple_evaluate(
        model="hf",
        model_args={"pretrained": str(args.workdir / "model"), "dtype": "float32"},
        tasks=[task],
        batch_size=args.batch_size,
        device="cpu",
        log_samples=True,
        task_manager=manager,
    )
    done_at = time.time()
    assert results is not None
    samples = sorted(results["samples"][task], key=lambda s: s["doc_id"])
    return {
        "tool": "lm-eval",
        "version": lm_eval.__version__,
        "done_at": done_at,
        "scoring_seconds": clock.seconds,
        "scoring_cpu_seconds": clock.cpu_seconds,
        "first_scoring_at": clock.first_call_at,
        "requests": clock.requests,
        "scoring_calls": clock.calls,
        "peak_rss_mb": peak_rss_mb(),
        "acc": results["results"][task]["acc,none"],
        "acc_norm": results["results"][task]["acc_norm,none"],
        "samples": [
            {
                "lls": [float(r[0][0]) for r in s["resps"]],
                "acc": float(s["acc"]),
                "acc_norm": float(s["acc_norm"]),
            }
            for s in samples
        ],
    }


def child_pingce(args: argparse.Namespace) -> dict[str, Any]:
    import pingce
    from pingce import cli
    from pingce.backends.hf import HFCausalLM

    clock = ScoringClock()
    clock.wrap(HFCausalLM, "loglikelihood")
    db = args.workdir / f"pingce_{args.task}.db"
    db.unlink(missing_ok=True)
    # The ordinary CLI path: suite loading, planning, the SQLite store and the summary table.
    # --no-report: like lm-eval's simple_evaluate here, no report files are written.
    sys.argv = [
        "pingce",
        "run",
        "--suite",
        str(args.workdir / f"suite_{args.task}.yaml"),
        "--model",
        f"hf:{args.workdir / 'model'}",
        "--device",
        "cpu",
        "--dtype",
        "float32",
        "--batch-size",
        str(args.batch_size),
        "--threads",
        str(args.threads),
        "--db",
        f"sqlite:///{db}",
        "--no-report",
        "-q",
    ]
    cli.main()
    done_at = time.time()
    from pingce.core.store import open_store

    store = open_store(f"sqlite:///{db}")
    run = store.list_runs(limit=1)[0]
    records = sorted(store.records(run.id), key=lambda r: r.position)
    samples = [
        {
            "lls": list(r.data["loglikelihoods"]),
            "acc": float(r.scores["acc"]),
            "acc_norm": float(r.scores["acc_norm"]),
        }
        for r in records
    ]
    store.close()
    return {
        "tool": "pingce",
        "version": pingce.__version__,
        "done_at": done_at,
        "scoring_seconds": clock.seconds,
        "scoring_cpu_seconds": clock.cpu_seconds,
        "first_scoring_at": clock.first_call_at,
        "requests": clock.requests,
        "scoring_calls": clock.calls,
        "peak_rss_mb": peak_rss_mb(),
        "acc": statistics.fmean(s["acc"] for s in samples),
        "acc_norm": statistics.fmean(s["acc_norm"] for s in samples),
        "samples": samples,
    }


def child_main(args: argparse.Namespace) -> None:
    out = child_lmeval(args) if args.child == "lmeval" else child_pingce(args)
    (args.workdir / f"out_{args.child}_{args.task}.json").write_text(
        json.dumps(out), encoding="utf-8"
    )


# ---------------------------------------------------------------------------------------------
# Parent
# ---------------------------------------------------------------------------------------------
def child_env(threads: int, work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
            "TOKENIZERS_PARALLELISM": "false",
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def run_child(
    tool: str, task: str, args: argparse.Namespace, env: dict[str, str]
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        tool,
        "--task",
        task,
        "--workdir",
        str(args.workdir),
        "--threads",
        str(args.threads),
        "--batch-size",
        str(args.batch_size),
    ]
    log = args.workdir / f"log_{tool}_{task}.txt"
    load = wait_for_quiet(args.max_load, args.max_wait)
    busy_before = machine_busy_seconds()
    cpu_before = children_cpu_seconds()
    started = time.time()
    with log.open("w", encoding="utf-8") as fh:
        proc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, check=False)
    ended = time.time()
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{tool} on task {task} failed (exit {proc.returncode}):\n{tail}")
    out = json.loads((args.workdir / f"out_{tool}_{task}.json").read_text(encoding="utf-8"))
    out["wall_seconds"] = out.pop("done_at") - started  # start-up + evaluation, no result dump
    out["process_seconds"] = ended - started
    out["startup_seconds"] = out.pop("first_scoring_at") - started
    out["load_before"] = load  # 1-minute load average when the child started
    # CPU time other processes used on the machine while the child ran, as a share of all
    # cores: how disturbed the measurement was (Linux only; None elsewhere).
    busy_after = machine_busy_seconds()
    if busy_before is not None and busy_after is not None:
        others = (busy_after - busy_before) - (children_cpu_seconds() - cpu_before)
        out["others_cpu_share"] = max(0.0, others) / ((ended - started) * (os.cpu_count() or 1))
    else:
        out["others_cpu_share"] = None
    return out


def run_cli(tool: str, task: str, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Process wall time of each tool's own command line, as a user runs it.

    lm-eval: `lm-eval run --model hf ... --include_path DIR` (its CLI also indexes its
    built-in task files); pingce: `pingce run --suite FILE ... --no-report`. Neither writes
    result files; both get the same threads (OMP/MKL env; pingce's --threads) and batch size.
    """
    bin_dir = Path(sys.executable).parent
    model = args.workdir / "model"
    if tool == "lm-eval":
        cmd = [
            str(bin_dir / "lm-eval"), "run", "--model", "hf",
            "--model_args", f"pretrained={model},dtype=float32",
            "--tasks", f"bench_mc_{task}", "--include_path", str(args.workdir / "lmeval_tasks"),
            "--batch_size", str(args.batch_size), "--device", "cpu",
        ]  # fmt: skip
    else:
        db = args.workdir / f"cli_{task}.db"
        db.unlink(missing_ok=True)
        cmd = [
            str(bin_dir / "pingce"), "run", "--suite", str(args.workdir / f"suite_{task}.yaml"),
            "--model", f"hf:{model}", "--device", "cpu", "--dtype", "float32",
            "--batch-size", str(args.batch_size), "--threads", str(args.threads),
            "--db", f"sqlite:///{db}", "--no-report", "-q",
        ]  # fmt: skip
    load = wait_for_quiet(args.max_load, args.max_wait)
    started = time.time()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.time() - started
    if proc.returncode != 0:
        raise SystemExit(f"{tool} CLI on task {task} failed:\n{proc.stderr[-3000:]}")
    return {"seconds": round(seconds, 3), "load_before": round(load, 3), "command": cmd[1:3]}


def wait_for_quiet(max_load: float, max_wait: float) -> float:
    """Wait (at most `max_wait` s) until the 1-minute load average is at most `max_load`."""
    deadline = time.time() + max_wait
    while os.getloadavg()[0] > max_load and time.time() < deadline:
        time.sleep(5)
    return os.getloadavg()[0]


def machine_busy_seconds() -> float | None:
    """CPU seconds all processes have used since boot (all cores), from /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
    values = [int(v) for v in fields[1:9]]
    busy = sum(values) - values[3] - values[4]
    return busy / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def warm_up(args: argparse.Namespace, env: dict[str, str], data: dict[str, Path]) -> None:
    """Warm the page cache (imports, weights) and build lm-eval's datasets cache, untimed."""
    code = (
        "import sys, torch, transformers, lm_eval, datasets, pingce.cli\n"
        "from lm_eval.models.huggingface import HFLM\n"
        "transformers.AutoModelForCausalLM.from_pretrained(sys.argv[1])\n"
        "for p in sys.argv[3:]:\n"
        "    datasets.load_dataset('json', data_files={'test': p}, cache_dir=sys.argv[2])\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(args.workdir / "model"),
            str(args.workdir / "hf-datasets"),
            *map(str, data.values()),
        ],
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        print(f"warning: warm-up failed (timings may include cold caches):\n{proc.stderr[-2000:]}")


def best_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Fastest time and largest peak RSS over the repeats (the machine may be shared: the
    minimum is the least disturbed measurement); every run's figures are kept too."""
    out = dict(runs[0])
    keys = (
        "wall_seconds",
        "process_seconds",
        "startup_seconds",
        "scoring_seconds",
        "scoring_cpu_seconds",
    )
    for key in keys:
        out[key] = min(r[key] for r in runs)
    out["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    extra = ("peak_rss_mb", "load_before", "others_cpu_share")
    out["all_runs"] = [
        {k: None if r[k] is None else round(r[k], 3) for k in (*keys, *extra)} for r in runs
    ]
    return out


def figures(out: dict[str, Any], items: int) -> dict[str, Any]:
    return {
        "items": items,
        "requests": out["requests"],
        "wall_seconds": round(out["wall_seconds"], 3),
        "process_seconds": round(out["process_seconds"], 3),
        "startup_seconds": round(out["startup_seconds"], 3),
        "scoring_seconds": round(out["scoring_seconds"], 3),
        "scoring_cpu_seconds": round(out["scoring_cpu_seconds"], 3),
        "requests_per_second": round(out["requests"] / out["scoring_seconds"], 1),
        "peak_rss_mb": round(out["peak_rss_mb"], 1),
        "acc": out["acc"],
        "acc_norm": out["acc_norm"],
        "runs": out["all_runs"],
    }


def compare(ref: dict[str, Any], got: dict[str, Any]) -> dict[str, Any]:
    max_diff = 0.0
    ll_bad = acc_bad = 0
    min_margin = float("inf")  # smallest gap between a sample's two best choices (lm-eval)
    for r, g in zip(ref["samples"], got["samples"], strict=True):
        diffs = [abs(a - b) for a, b in zip(r["lls"], g["lls"], strict=True)]
        max_diff = max(max_diff, *diffs)
        ll_bad += any(d > TOL for d in diffs)
        acc_bad += r["acc"] != g["acc"] or r["acc_norm"] != g["acc_norm"]
        top = sorted(r["lls"], reverse=True)
        min_margin = min(min_margin, top[0] - top[1])
    return {
        "samples": len(ref["samples"]),
        "max_abs_logprob_diff": max_diff,
        "samples_over_tolerance": ll_bad,
        "acc_mismatches": acc_bad,
        "min_top2_margin": min_margin,
        "ok": ll_bad == 0 and acc_bad == 0 and len(ref["samples"]) == len(got["samples"]),
    }


def parent_main(args: argparse.Namespace) -> None:
    import lm_eval
    import torch
    import transformers

    import pingce
    from pingce.core.fingerprint import machine_summary

    n_a, n_b = (40, 20) if args.quick else (400, 200)
    own_workdir = args.workdir is None
    args.workdir = Path(args.workdir or tempfile.mkdtemp(prefix="pingce-bench-")).resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    env = child_env(args.threads, args.workdir)
    try:
        print(f"work folder: {args.workdir}", flush=True)
        model = build_model(args.workdir / "model")
        data = make_data(args.workdir / "data", model / "tokenizer.json", n_a, n_b)
        write_task_files(args.workdir, data)
        warm_up(args, env, data)
        items = {"a": n_a, "b": n_b}
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {
            "lm-eval": {"a": [], "b": []},
            "pingce": {"a": [], "b": []},
        }
        for rep in range(args.repeat):
            for task in ("a", "b"):
                # Alternate which tool goes first, so neither always runs right after the other.
                tools = [("lmeval", "lm-eval"), ("pingce", "pingce")]
                for tool, key in tools if rep % 2 == 0 else tools[::-1]:
                    print(
                        f"run {rep + 1}/{args.repeat} task {task}: {key} ...", end=" ", flush=True
                    )
                    o = run_child(tool, task, args, env)
                    runs[key][task].append(o)
                    print(
                        f"wall {o['wall_seconds']:.1f} s, scoring {o['scoring_seconds']:.1f} s, "
                        f"peak RSS {o['peak_rss_mb']:.0f} MB",
                        flush=True,
                    )
        cli_runs: dict[str, dict[str, list[dict[str, Any]]]] = {
            "lm-eval": {"a": [], "b": []},
            "pingce": {"a": [], "b": []},
        }
        for rep in range(args.repeat):
            for task in ("a", "b"):
                tools = ["lm-eval", "pingce"]
                for key in tools if rep % 2 == 0 else tools[::-1]:
                    o = run_cli(key, task, args, env)
                    cli_runs[key][task].append(o)
                    print(f"CLI run {rep + 1} task {task}: {key} {o['seconds']:.1f} s", flush=True)
        cli_wall = {
            key: {
                t: {
                    "seconds": min(r["seconds"] for r in cli_runs[key][t]),
                    "runs": cli_runs[key][t],
                }
                for t in ("a", "b")
            }
            for key in cli_runs
        }
        outs = {key: {t: best_of(runs[key][t]) for t in ("a", "b")} for key in runs}
        parity = {t: compare(outs["lm-eval"][t], outs["pingce"][t]) for t in ("a", "b")}
        lm = {t: figures(outs["lm-eval"][t], items[t]) for t in ("a", "b")}
        pc = {t: figures(outs["pingce"][t], items[t]) for t in ("a", "b")}
        ratios = {
            f"{kind}_{t}": round(lm[t][f"{kind}_seconds"] / pc[t][f"{kind}_seconds"], 2)
            for kind in ("scoring", "wall", "scoring_cpu")
            for t in ("a", "b")
        }
        for t in ("a", "b"):
            ratios[f"cli_wall_{t}"] = round(
                cli_wall["lm-eval"][t]["seconds"] / cli_wall["pingce"][t]["seconds"], 2
            )
        rss_lm = max(lm[t]["peak_rss_mb"] for t in lm)
        rss_pc = max(pc[t]["peak_rss_mb"] for t in pc)
        met = {
            "scoring_ratio_b": ratios["scoring_b"] >= TARGETS["scoring_ratio_b"],
            "scoring_ratio_a": ratios["scoring_a"] >= TARGETS["scoring_ratio_a"],
            # The wall time is "the total wall time of the process": each tool's own
            # command line as users run it. The fastest programmatic lm-eval path is reported
            # beside it (wall_fastest_path).
            "wall_ratio": min(ratios["cli_wall_a"], ratios["cli_wall_b"]) >= TARGETS["wall_ratio"],
            "wall_ratio_fastest_path": min(ratios["wall_a"], ratios["wall_b"])
            >= TARGETS["wall_ratio"],
            "rss": all(pc[t]["peak_rss_mb"] <= lm[t]["peak_rss_mb"] for t in lm),
        }
        ok = all(p["ok"] for p in parity.values())
        result = {
            "name": "llm_mc_vs_lmeval",
            "machine": machine_summary(),
            "anchor": {
                "tool": "lm-eval",
                "version": outs["lm-eval"]["a"]["version"],
                "seconds": lm["b"]["scoring_seconds"],
                "peak_rss_mb": rss_lm,
                "tasks": lm,
                "cli_wall": cli_wall["lm-eval"],
            },
            "pingce": {
                "version": pingce.__version__,
                "seconds": pc["b"]["scoring_seconds"],
                "peak_rss_mb": rss_pc,
                "tasks": pc,
                "cli_wall": cli_wall["pingce"],
            },
            "ratio": ratios["scoring_b"],
            "ratios": ratios,
            "target": TARGETS,
            "targets_met": met,
            "parity": ok,
            "parity_detail": parity,
            "settings": {
                "quick": args.quick,
                "repeats": args.repeat,
                "wait_for_load_below": args.max_load,
                "max_wait_seconds": args.max_wait,
                "threads": args.threads,
                "batch_size": args.batch_size,
                "device": "cpu",
                "dtype": "float32",
                "model": {**MODEL_CONFIG, "architecture": "Qwen2ForCausalLM", "seed": SEED},
                "choices_per_item": 4,
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "lm_eval": lm_eval.__version__,
                "python": sys.version.split()[0],
            },
            "notes": notes(ratios, met, parity, lm, pc),
        }
        out_path = Path(args.out) if args.out else (None if args.quick else RESULT)
        text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
        if out_path is not None:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            out_path.write_text(text, encoding="utf-8")
            print(f"wrote {out_path}")
        print(text)
        if not ok:
            raise SystemExit("parity check failed: see parity_detail")
    finally:
        if own_workdir and not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)


def notes(
    ratios: dict[str, float],
    met: dict[str, bool],
    parity: dict[str, dict[str, Any]],
    lm: dict[str, Any],
    pc: dict[str, Any],
) -> str:
    def yes(flag: bool) -> str:
        return "met" if flag else "MISSED"

    return (
        "ratio = lm-eval scoring seconds / pingce scoring seconds on task b (long contexts). "
        f"Scoring ratio a {ratios['scoring_a']} (target >= 1: {yes(met['scoring_ratio_a'])}), "
        f"b {ratios['scoring_b']} (target >= 2: {yes(met['scoring_ratio_b'])}); "
        f"wall ratio (each tool's own CLI process, as users run it) a {ratios['cli_wall_a']}, "
        f"b {ratios['cli_wall_b']} (target >= 2 on both: {yes(met['wall_ratio'])}); against "
        "lm-eval's fastest programmatic path (simple_evaluate, only the benchmark's task YAMLs "
        f"indexed) a {ratios['wall_a']}, b {ratios['wall_b']} "
        f"(>= 2 on both: {yes(met['wall_ratio_fastest_path'])}); "
        f"peak RSS a {pc['a']['peak_rss_mb']} vs {lm['a']['peak_rss_mb']} MB, "
        f"b {pc['b']['peak_rss_mb']} vs {lm['b']['peak_rss_mb']} MB "
        f"(pingce vs lm-eval; target not above: {yes(met['rss'])}). "
        f"Parity: max |logprob diff| a {parity['a']['max_abs_logprob_diff']:.2e}, "
        f"b {parity['b']['max_abs_logprob_diff']:.2e} (tolerance {TOL}); acc/acc_norm "
        f"mismatches a {parity['a']['acc_mismatches']}, b {parity['b']['acc_mismatches']}. "
        f"Scoring CPU-time ratio a {ratios['scoring_cpu_a']}, b {ratios['scoring_cpu_b']}. "
        "Start-up (process start to the first scoring call: imports, model load, data, "
        f"planning) a {lm['a']['startup_seconds']} s lm-eval vs {pc['a']['startup_seconds']} s "
        f"pingce, b {lm['b']['startup_seconds']} vs {pc['b']['startup_seconds']} s: both tools "
        "pay torch + transformers imports and the model load, which bound the wall ratio on "
        "short runs. "
        "Scoring seconds: time inside HFLM.loglikelihood / HFCausalLM.loglikelihood (tokenisation "
        "included). Wall seconds: process start to the end of evaluation (imports, model load, "
        "data, scoring, metrics; pingce also writes its SQLite store, but neither tool writes "
        "report files), excluding the benchmark's own result dump. Times are the minimum over "
        "the repeats, peak RSS the maximum; each run waited for a quiet machine (1-minute load "
        "average) first, and runs[].others_cpu_share records how much CPU other processes used "
        "meanwhile. The scoring/start-up/RSS figures come from children that run lm-eval through "
        "simple_evaluate with TaskManager(include_defaults=False) and pingce through cli.main(); "
        "cli_wall times the real `lm-eval run` and `pingce run` commands (minimum over the "
        "repeats), where lm-eval also indexes its built-in tasks. lm-eval's datasets cache "
        "is built in an untimed warm-up. The model is randomly initialised, so accuracies are "
        "near chance."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 + 20 items; no result file")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--repeat", type=int, help="runs per tool and task (default 3; 1 with --quick)"
    )
    parser.add_argument(
        "--max-load",
        type=float,
        default=1.5,
        help="before each run, wait until the 1-minute load average is at most this ...",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        help="... but no longer than this many seconds (default 120; 0 with --quick)",
    )
    parser.add_argument("--out", help="result file (default: benchmarks/results/...json)")
    parser.add_argument("--workdir", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    parser.add_argument("--child", choices=("lmeval", "pingce"), help=argparse.SUPPRESS)
    parser.add_argument("--task", choices=("a", "b"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(var, "1")
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.max_wait is None:
        args.max_wait = 0.0 if args.quick else 120.0
    if args.child:
        child_main(args)
    else:
        parent_main(args)


if __name__ == "__main__":
    main()
