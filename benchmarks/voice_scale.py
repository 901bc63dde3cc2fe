"""Deepfake-voice evaluation at ASVspoof 5 scale: pingce vs the organisers' numpy formulas.

One generated score file of N trials (default 1,000,000; ASVspoof 5's evaluation set has
~680k) in the ASVspoof 2019 CM layout ``utt attack key score`` with 16 attacks. The anchor is
the ASVspoof evaluation packages' computation, written out independently here with numpy as
the packages do it: read the file (``numpy.genfromtxt(dtype=str)``), split bona fide and spoof
scores, build the DET step curve (``compute_det_curve``: concatenate, stable argsort, cumsums),
take the EER at the smallest |Pmiss - Pfa| (``compute_eer``) and the normalised minDCF of the
ASVspoof 5 cost model (Pspoof 0.05, Cmiss 1, Cfa 10; ``compute_mindcf``). pingce runs the
whole command a user runs, ``pingce voice evaluate --scores FILE`` in a subprocess: reading
and checking, storing every trial (SQLite), EER/minDCF with seeded bootstrap CIs, actDCF,
Cllr, minCllr, ROCCH-EER, t-DCF, the per-attack breakdown, DET curves and the JSON/Markdown/
HTML report, summarised twice as every run is (at the end of the run and for the report).

Measured: wall seconds of each side, and pingce's peak RSS (getrusage of the child). The
machine is shared with other jobs: the 1-minute load average is recorded before and after.
Parity: pingce's EER and minDCF (from report.json) equal the anchor's to 1e-9.

Run: .venv/bin/python benchmarks/voice_scale.py [--trials 1000000] [--quick]
``--quick`` runs 100,000 trials and writes no result file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 60.0
TARGET_RSS_MB = 1024.0
P_SPOOF, C_MISS, C_FA = 0.05, 1.0, 10.0


def write_scores(path: Path, n: int, seed: int = 0) -> None:
    """N trials, 10% bona fide, 16 attacks of differing difficulty, 2019 CM layout."""
    rng = np.random.default_rng(seed)
    bona = rng.random(n) < 0.1
    attack = rng.integers(0, 16, n)
    spoof_mean = -2.5 + attack * 0.25  # later attacks are harder
    scores = np.where(bona, rng.normal(2.0, 1.5, n), rng.normal(spoof_mean, 1.5))
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            if bona[i]:
                f.write(f"E_{i:07d} - bonafide {scores[i]:.6f}\n")
            else:
                f.write(f"E_{i:07d} A{attack[i] + 1:02d} spoof {scores[i]:.6f}\n")


# ---- the anchor: the organisers' formulas, in numpy ---------------------------------------
def compute_det_curve(target: np.ndarray, nontarget: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    n_scores = target.size + nontarget.size
    all_scores = np.concatenate((target, nontarget))
    labels = np.concatenate((np.ones(target.size), np.zeros(nontarget.size)))
    indices = np.argsort(all_scores, kind="mergesort")
    labels = labels[indices]
    tar_trial_sums = np.cumsum(labels)
    nontarget_trial_sums = nontarget.size - (np.arange(1, n_scores + 1) - tar_trial_sums)
    frr = np.concatenate((np.atleast_1d(0), tar_trial_sums / target.size))
    far = np.concatenate((np.atleast_1d(1), nontarget_trial_sums / nontarget.size))
    thresholds = np.concatenate((np.atleast_1d(all_scores[indices[0]] - 0.001), all_scores[indices]))  # fmt: skip
    return frr, far, thresholds


def compute_eer(target: np.ndarray, nontarget: np.ndarray) -> float:
    frr, far, _ = compute_det_curve(target, nontarget)
    i = np.argmin(np.abs(frr - far))
    return float(np.mean((frr[i], far[i])))


def compute_mindcf(target: np.ndarray, nontarget: np.ndarray) -> float:
    frr, far, _ = compute_det_curve(target, nontarget)
    c_def = min(C_MISS * (1 - P_SPOOF), C_FA * P_SPOOF)
    dcf = C_MISS * (1 - P_SPOOF) * frr + C_FA * P_SPOOF * far
    return float(dcf.min() / c_def)


def anchor(path: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    data = np.genfromtxt(path, dtype=str)
    keys, scores = data[:, 2], data[:, 3].astype(float)
    bona, spoof = scores[keys == "bonafide"], scores[keys == "spoof"]
    eer = compute_eer(bona, spoof)
    min_dcf = compute_mindcf(bona, spoof)
    return {"seconds": time.perf_counter() - t0, "eer": eer, "min_dcf": min_dcf}


def parity_of(ours: dict[str, float], ref: dict[str, float], tol: float = 1e-9) -> tuple[bool, dict[str, float]]:  # fmt: skip
    """Parity: pingce's EER and minDCF within `tol` of the anchor's."""
    detail = {
        "eer_abs_diff": abs(ours["eer"] - ref["eer"]),
        "min_dcf_abs_diff": abs(ours["min_dcf"] - ref["min_dcf"]),
        "tolerance": tol,
    }
    return detail["eer_abs_diff"] <= tol and detail["min_dcf_abs_diff"] <= tol, detail


# ---- pingce --------------------------------------------------------------------------------
def run_pingce(path: Path, work: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "pingce.cli", "voice", "evaluate", "--scores", str(path),
           "--db", str(work / "bench.sqlite"), "--report-dir", str(work / "rep"), "-q"]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})  # fmt: skip
    seconds = time.perf_counter() - t0
    # Peak RSS of the largest child waited for: pingce is this script's first and only one.
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    if proc.returncode != 0:
        raise SystemExit(f"pingce failed:\n{proc.stdout}\n{proc.stderr}")
    (report,) = list((work / "rep").glob("*/report.json"))
    doc = json.loads(report.read_text(encoding="utf-8"))
    m = doc["tasks"][0]["metrics"]
    return {
        "seconds": seconds,
        "peak_rss_mb": rss_mb,
        "eer": m["voice_eer"]["value"],
        "eer_ci": [m["voice_eer"]["ci_low"], m["voice_eer"]["ci_high"]],
        "min_dcf": m["voice_min_dcf"]["value"],
        "min_dcf_ci": [m["voice_min_dcf"]["ci_low"], m["voice_min_dcf"]["ci_high"]],
        "indicators": sorted(m),
        "sections": [s["id"] for s in doc["sections"]],
        "report_files": sorted(p.name for p in report.parent.iterdir()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 trials, no result file")
    args = ap.parse_args()
    n = 100_000 if args.quick else args.trials
    sys.path.insert(0, str(ROOT / "src"))
    from pingce.core.fingerprint import machine_summary

    with tempfile.TemporaryDirectory(prefix="pingce-voice-scale-") as tmp:
        work = Path(tmp)
        scores = work / "scores.txt"
        write_scores(scores, n)
        load_before = os.getloadavg()[0]
        ours = run_pingce(scores, work)
        load_mid = os.getloadavg()[0]
        ref = anchor(scores)
        load_after = os.getloadavg()[0]
    parity, parity_detail = parity_of(ours, ref)
    met = ours["seconds"] <= TARGET_SECONDS and ours["peak_rss_mb"] <= TARGET_RSS_MB
    result = {
        "name": "voice_scale",
        "machine": machine_summary(),
        "trials": n,
        "anchor": {
            "tool": "ASVspoof evaluation formulas (compute_det_curve / compute_eer / compute_mindcf), numpy",
            "version": f"numpy {np.__version__}",
            "seconds": round(ref["seconds"], 3),
            "eer": ref["eer"],
            "min_dcf": ref["min_dcf"],
            "scope": "read the file with numpy.genfromtxt, EER and minDCF; no CIs, breakdowns, storage or report",
        },
        "pingce": {
            "seconds": round(ours["seconds"], 3),
            "peak_rss_mb": round(ours["peak_rss_mb"], 1),
            "eer": ours["eer"],
            "eer_ci95": ours["eer_ci"],
            "min_dcf": ours["min_dcf"],
            "min_dcf_ci95": ours["min_dcf_ci"],
            "indicators": ours["indicators"],
            "sections": ours["sections"],
            "report_files": ours["report_files"],
            "scope": "pingce voice evaluate end to end: read and check, store every trial, metrics with bootstrap CIs (200 resamples above 20,000 trials), per-attack breakdown, DET, report",
        },
        "ratio": round(ref["seconds"] / ours["seconds"], 3),
        "target": f"a {n:,}-trial evaluation, report and CIs included, in <= {TARGET_SECONDS:.0f} s and <= {TARGET_RSS_MB:.0f} MB on 2 cores",
        "target_met": met,
        "parity": parity,
        "parity_detail": parity_detail,
        "load_average_1m": {"before": load_before, "between": load_mid, "after": load_after},
        "notes": (
            "ratio = anchor seconds / pingce seconds (above 1: pingce faster); the anchor computes two "
            "numbers, pingce the whole evaluation with CIs, breakdowns, storage and report, so a ratio "
            f"below 1 is expected; the target is the absolute time and memory. Target met: {met}. "
            f"The machine was shared with other jobs (1-minute load average {load_before:.1f} before, "
            f"{load_mid:.1f} between the runs, {load_after:.1f} after, on {os.cpu_count()} CPUs): the "
            "times are upper bounds of what an idle machine gives."
        ),
    }
    print(json.dumps(result, indent=1))
    if not args.quick:
        out = ROOT / "benchmarks" / "results" / "voice_scale.json"
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
