"""The parity figures that benchmark result files publish are computed, not asserted: checked
here on hand-made inputs (the benchmarks themselves run on demand, never in the test suite)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"pingce_bench_{name}", BENCH / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_dashboard_pagination_parity_compares_pages() -> None:
    pytest.importorskip("starlette")
    bench = _load("dashboard_pagination")
    same = bench.compare_pages([5, 4, 3], [5, 4, 3])
    swapped = bench.compare_pages([5, 3, 4], [5, 4, 3])
    shifted = bench.compare_pages([4, 3, 2], [5, 4, 3])  # an off-by-one cursor
    assert same == {"equal": True, "rows": 3, "differing_rows": 0, "same_rows_any_order": True}
    assert not swapped["equal"] and swapped["same_rows_any_order"]
    assert shifted["differing_rows"] == 2 and not shifted["same_rows_any_order"]
    assert bench.pages_parity({"a": same, "b": same}) == (True, 1.0)
    assert bench.pages_parity({"a": same, "b": shifted}) == (False, 0.5)
    assert bench.pages_parity({}) == (False, 0.0)  # nothing compared is no parity
    empty = bench.compare_pages([], [])
    assert bench.pages_parity({"a": empty}) == (False, 0.0)  # an empty page proves nothing


def test_dedup_parity_is_agreement_of_removed_sets() -> None:
    """Hand counts: {a,b,c,d} vs {b,c,d,e} share 3 of 5 -> 0.6; per language, the English
    documents a,b,c / b,c agree 2/3 and the Chinese d / d,e agree 1/2."""
    bench = _load("data_dedup_vs_datatrove")
    lang = {"a": "en", "b": "en", "c": "en", "d": "zh", "e": "zh"}
    got = bench.agreement_by_language({"a", "b", "c", "d"}, {"b", "c", "d", "e"}, lang)
    assert got == pytest.approx({"all": 0.6, "en": 2 / 3, "zh": 0.5})
    assert bench.agreement(set(), set()) == 1.0  # both removed nothing: they agree
    assert bench.parity_of({"all": 0.95, "en": 0.95, "zh": 0.9}, 0.9)
    # A tool that removes more (higher recall, higher F1) is not "in parity": they disagree.
    assert not bench.parity_of({"all": 0.97, "en": 0.99, "zh": 0.5}, 0.9)


def test_loadgen_agreement_targets_are_pass_fail() -> None:
    """The 5% targets: 4.9% passes, 5.1% fails; verdicts must all match."""
    bench = _load("loadgen_vs_mlperf")
    same = {"s@0.3x": {"loadgen": True, "pingce": True}}
    ok = bench.agreement_checks(
        {"offline_throughput_rel_diff": 0.049, "single_stream_p90_rel_diff": 0.0, "verdicts": same}
    )
    assert ok == {
        "offline_throughput_within_5pct": True,
        "single_stream_p90_within_5pct": True,
        "verdicts_identical": True,
    }
    bad = bench.agreement_checks(
        {
            "offline_throughput_rel_diff": 0.0,
            "single_stream_p90_rel_diff": 0.051,
            "verdicts": {**same, "s@1x": {"loadgen": False, "pingce": True}},
        }
    )
    assert not bad["single_stream_p90_within_5pct"] and not bad["verdicts_identical"]


def test_loadgen_near_capacity_and_scheduling_checks() -> None:
    """A near-capacity level passes only when every round's verdicts agree; the scheduling
    target is p99 <= 0.1 ms at 1,000 QPS (0.1 passes, 0.11 fails)."""
    bench = _load("loadgen_vs_mlperf")
    base = {
        "offline_throughput_rel_diff": 0.0,
        "single_stream_p90_rel_diff": 0.0,
        "verdicts": {"s@0.3x": {"loadgen": True, "pingce": True}},
    }
    rounds = [{"loadgen": False, "pingce": False}] * 3
    checks = bench.agreement_checks(
        {
            **base,
            "near_capacity": {
                "0.9x_5ms": {"agreeing_rounds": 3, "rounds": rounds},
                "1x_5ms": {"agreeing_rounds": 2, "rounds": rounds},
            },
            "sched_error_p99_ms_at_1000_qps": 0.1,
        }
    )
    assert checks["near_capacity_0.9x_5ms_verdicts_identical"]
    assert not checks["near_capacity_1x_5ms_verdicts_identical"]
    assert checks["sched_error_p99_at_1000_qps_le_0.1ms"]
    slow = bench.agreement_checks({**base, "sched_error_p99_ms_at_1000_qps": 0.11})
    assert not slow["sched_error_p99_at_1000_qps_le_0.1ms"]


def test_benchmark_readme_states_the_committed_repeats() -> None:
    """The README's repeat count for llm_mc_vs_lmeval is the one its result file used."""
    import json
    import re

    result = json.loads((BENCH / "results" / "llm_mc_vs_lmeval.json").read_text("utf-8"))
    readme = (BENCH / "README.md").read_text("utf-8")
    said = re.search(r"the committed\s+result used (\d+)", readme)
    assert said and int(said.group(1)) == result["settings"]["repeats"]


def test_voice_scale_anchor_and_parity() -> None:
    """The anchor's EER/minDCF on a hand case (2 bona fide 0.9 and 0.4, 2 spoof 0.6 and 0.1:
    the step curve's points (Pmiss, Pfa) are (0,1), (0,.5), (.5,.5), (.5,0)... EER 0.5 at the
    first |Pmiss - Pfa| minimum; minDCF = min(0.95 Pmiss + 0.5 Pfa) / 0.5 = 0.5 at Pfa .5,
    Pmiss 0), and parity is a computed tolerance check."""
    import numpy as np

    bench = _load("voice_scale")
    bona, spoof = np.array([0.9, 0.4]), np.array([0.6, 0.1])
    assert bench.compute_eer(bona, spoof) == pytest.approx(0.5)
    assert bench.compute_mindcf(bona, spoof) == pytest.approx(0.5)
    ok, detail = bench.parity_of({"eer": 0.2, "min_dcf": 0.5}, {"eer": 0.2, "min_dcf": 0.5})
    assert ok and detail["eer_abs_diff"] == 0.0
    assert not bench.parity_of({"eer": 0.2, "min_dcf": 0.5}, {"eer": 0.2001, "min_dcf": 0.5})[0]
