"""The frame-stream generator: its schedule, figures and search checked on hand-built cases
(no wall-clock assertions), and a real stream through the standard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from pingce.vision.framestream import (
    DONE,
    DROPPED,
    LATE,
    StreamConfig,
    run_stream,
    schedule,
    search_max_fps,
    stream_figures,
    validity,
)


def test_schedule_fixed_rate_and_bursts() -> None:
    np.testing.assert_allclose(schedule(StreamConfig(fps=4, duration_s=1)), [0, 0.25, 0.5, 0.75])
    # Bursts of 3 at 6 fps: 3 frames together every 0.5 s.
    np.testing.assert_allclose(
        schedule(StreamConfig(fps=6, duration_s=1, burst_size=3)), [0, 0, 0, 0.5, 0.5, 0.5]
    )


def test_figures_hand_case() -> None:
    """5 frames at 0, 10, 20, 30, 40 ms; frame 2 refused, frame 4 finished late (deadline 25 ms).
    Latencies of analysed frames: 5, 8, 12, 30 ms. In time: 3 of 5 -> drop rate 0.4;
    duration = last completion (70 ms) - first arrival = 70 ms -> throughput 3/0.07;
    jitter = mean(|8-5|, |12-8|, |30-12|) = 25/3; queue depths 0,1,1,0,2 over t: slope by
    least squares; accuracy: frames 0 and 3 correct and in time -> 2/5."""
    raw = {
        "scheduled_s": [0.0, 0.01, 0.02, 0.03, 0.04],
        "offered_s": [0.0001, 0.0101, 0.0202, 0.0300, 0.0400],
        "done_s": [0.005, 0.018, None, 0.042, 0.070],
        "status": [DONE, DONE, DROPPED, DONE, LATE],
        "depth": [0, 1, 1, 0, 2],
        "correct": [True, False, None, True, True],
    }
    f = stream_figures(raw)
    assert f["frames_in_time"] == 3 and f["frames_refused"] == 1 and f["frames_late"] == 1
    assert f["fs_drop_rate"] == pytest.approx(0.4)
    assert f["fs_throughput_fps"] == pytest.approx(3 / 0.07)
    lat = [5, 8, 12, 30]
    assert f["fs_latency_p50_ms"] == pytest.approx(np.percentile(lat, 50))
    assert f["fs_latency_p99_ms"] == pytest.approx(np.percentile(lat, 99))
    assert f["fs_latency_max_ms"] == pytest.approx(30)
    assert f["fs_jitter_ms"] == pytest.approx(25 / 3)
    t, d = np.array(raw["scheduled_s"]), np.array(raw["depth"])
    slope = ((t - t.mean()) * (d - d.mean())).sum() / ((t - t.mean()) ** 2).sum()
    assert f["fs_queue_growth"] == pytest.approx(slope)
    assert f["fs_sched_error_p99_ms"] == pytest.approx(np.percentile([0.1, 0.1, 0.2, 0.0, 0.0], 99))
    assert f["fs_accuracy_under_load"] == pytest.approx(2 / 5)
    ok, reasons = validity(f, max_drop_rate=0.01, max_p99_ms=20, sched_tolerance_ms=1.0)
    assert not ok
    assert any("fewer than 100" in r for r in reasons)
    assert any("drop rate 0.4000 > 0.01" in r for r in reasons)
    assert any("p99 latency" in r for r in reasons)


def test_search_bisects_to_the_capacity() -> None:
    """A probe that passes at or below 333 fps: bisection between 50 and 1000 in 8 steps ends
    within (1000 - 50) / 2^8 of 333, below it."""

    def probe(fps: float) -> dict[str, Any]:
        return {"fs_drop_rate": 0.0 if fps <= 333 else 0.2, "fs_latency_p99_ms": 5.0}

    best, probes = search_max_fps(probe, 50, 1000, 8, 0.01, 50)
    assert best is not None and 333 - 950 / 256 <= best <= 333
    assert [p["fps"] for p in probes[:3]] == [1000, 50, 525]
    assert search_max_fps(probe, 400, 1000, 3, 0.01, 50)[0] is None
    assert search_max_fps(probe, 10, 300, 3, 0.01, 50)[0] == 300


def test_a_slow_system_drops_frames_at_a_full_queue() -> None:
    """A system that takes >= 20 ms per frame (sleep never returns early) can analyse at most
    ~50 frames/s; offered 250 fps with a queue of 1, most frames are refused."""
    import time

    def slow(i: int) -> int:
        time.sleep(0.02)
        return i

    raw = run_stream(
        slow,
        StreamConfig(fps=250, duration_s=0.8, queue_depth=1, deadline_ms=1000, drain_s=0.5),
        10,
    )
    f = stream_figures(raw)
    assert f["frames_offered"] == 200
    assert f["frames_analysed"] <= 0.8 / 0.02 + 3
    assert f["fs_drop_rate"] > 0.5
    assert set(raw["status"]) <= {DONE, LATE, DROPPED}


def test_framestream_task_through_the_standard(
    tmp_path: Path, digits_models: dict[str, Path]
) -> None:
    from pingce.core.report.validation import validate_report
    from pingce.core.reporting import build_report_doc
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.store import open_store, records_as_dicts

    suite = tmp_path / "fs.yaml"
    task = {
        "id": "fs",
        "type": "vision.framestream",
        "fps": 150,
        "duration_s": 0.8,
        "deadline_ms": 500,
        "frames": 32,
        "search": {"low_fps": 20, "high_fps": 60, "steps": 1, "probe_duration_s": 0.3},
    }
    suite.write_text(yaml.safe_dump({"standard": "vision", "name": "fs", "tasks": [task]}))
    store = open_store()
    run_id = execute_run(
        store,
        RunRequest(suite=str(suite), subject=f"onnx:{digits_models['onnx']}"),
        show_progress=False,
    )
    doc = build_report_doc(store, store.get_run(run_id))
    validate_report(doc)
    rec = records_as_dicts(store.records(run_id))[0]
    assert len(rec["data"]["fixed"]["scheduled_s"]) == 120
    metrics = doc["tasks"][0]["metrics"]
    assert {
        "fs_throughput_fps",
        "fs_drop_rate",
        "fs_latency_p99_ms",
        "fs_sched_error_p99_ms",
        "fs_accuracy_under_load",
    } <= set(metrics)
    figs = stream_figures(rec["data"]["fixed"])
    assert metrics["fs_drop_rate"]["value"] == pytest.approx(figs["fs_drop_rate"])
    assert 0 <= metrics["fs_accuracy_under_load"]["value"] <= 1
    assert any(
        n.startswith("fs: stream VALID") or n.startswith("fs: stream INVALID") for n in doc["notes"]
    )
    probes = rec["data"]["search"]["probes"]
    assert probes[0]["fps"] == 60  # the high end first; the low end only when it fails
    if probes[0]["passed"]:
        assert len(probes) == 1 and metrics["fs_max_sustainable_fps"]["value"] == 60
    else:
        assert probes[1]["fps"] == 20


def test_frames_from_a_video_file(tmp_path: Path, digits_models: dict[str, Path]) -> None:
    """A video written here with OpenCV (40 frames) feeds a stream: its first `frames` frames
    are read back, unlabelled (no accuracy under load)."""
    cv2 = pytest.importorskip("cv2")
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.store import open_store, records_as_dicts
    from pingce.vision.datasets import video_frames

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (32, 32))
    for i in range(40):
        writer.write(np.full((32, 32, 3), i * 6, dtype=np.uint8))
    writer.release()
    frames = video_frames(path, 100)
    assert len(frames) == 40 and frames[0].array.shape == (32, 32, 3)
    assert abs(int(frames[10].array.mean()) - 60) <= 3  # MJPG is lossy, the level survives
    assert len(video_frames(path, 7)) == 7
    suite = tmp_path / "v.yaml"
    task = {
        "id": "v",
        "type": "vision.framestream",
        "dataset": str(path),
        "fps": 130,
        "duration_s": 0.8,
        "frames": 30,
        "deadline_ms": 500,
    }
    suite.write_text(yaml.safe_dump({"standard": "vision", "name": "v", "tasks": [task]}))
    store = open_store()
    run_id = execute_run(
        store,
        RunRequest(suite=str(suite), subject=f"onnx:{digits_models['onnx']}"),
        show_progress=False,
    )
    rec = records_as_dicts(store.records(run_id))[0]
    assert len(rec["data"]["fixed"]["scheduled_s"]) == 104
    assert "fs_accuracy_under_load" not in rec["scores"]


def test_process_generator_same_protocol() -> None:
    """The generator in its own process keeps the same protocol: every frame offered, a full
    queue refuses frames, the raw record has the thread generator's shape."""
    import time

    from pingce.vision.framestream_process import run_stream_process

    def slow(i: int) -> int:
        time.sleep(0.02)
        return i

    raw = run_stream_process(
        slow,
        StreamConfig(fps=250, duration_s=0.8, queue_depth=1, deadline_ms=1000, drain_s=0.5),
        10,
    )
    f = stream_figures(raw)
    assert f["frames_offered"] == 200 and all(v is not None for v in raw["offered_s"])
    assert f["frames_analysed"] <= 0.8 / 0.02 + 3
    assert f["fs_drop_rate"] > 0.5
    assert max(raw["depth"]) <= 1
    fast = run_stream_process(
        lambda i: i % 3 == 0,
        StreamConfig(fps=200, duration_s=0.5, queue_depth=64, deadline_ms=5000),
        6,
        lambda i, out: out,
    )
    g = stream_figures(fast)
    assert g["frames_analysed"] == 100  # nothing refused with a deep queue and a fast system
    assert g["fs_accuracy_under_load"] == pytest.approx(34 / 100)  # frames 0, 3, 6, ... of 100
