"""`pingce vision ...` as a user runs it (a real subprocess): a suite evaluated end to end,
the synthetic set written, and user mistakes as one `error:` line with exit code 2."""

from __future__ import annotations

from pathlib import Path

import yaml


def test_evaluate_writes_a_report_and_mistakes_are_one_line(tmp_path: Path, pingce_cli) -> None:
    db = tmp_path / "s.db"
    res = pingce_cli(["vision", "synth-defects", str(tmp_path / "set"), "--seed", "3"], tmp_path)
    assert res.returncode == 0, res.stderr
    cat = tmp_path / "set" / "surface"
    assert len(list((cat / "ground_truth").rglob("*_mask.png"))) == 12
    suite = tmp_path / "d.yaml"
    suite.write_text(
        yaml.safe_dump(
            {
                "standard": "vision",
                "name": "d",
                "tasks": [
                    {
                        "id": "d",
                        "type": "vision.defects",
                        "dataset": str(cat),
                        "requirements": {"vision_image_auroc": ">= 0.5"},
                    }
                ],
            }
        )
    )
    res = pingce_cli(
        [
            "vision",
            "evaluate",
            str(suite),
            f"reference:defects?train={cat}",
            "--db",
            str(db),
            "--report-dir",
            str(tmp_path / "r"),
            "-q",
        ],
        tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert "Requirements: 1 of 1 met" in res.stdout
    assert len(list((tmp_path / "r").rglob("report.json"))) == 1
    # The set is not overwritten.
    res = pingce_cli(["vision", "synth-defects", str(tmp_path / "set")], tmp_path)
    assert (
        res.returncode == 2
        and res.stderr.startswith("error:")
        and "not an empty folder" in res.stderr
    )
    assert len(res.stderr.strip().splitlines()) == 1
    for args, expected in (
        ([str(suite), "reference:defects"], "name the good training images"),
        ([str(suite), "nosuch:x"], "unknown scheme 'nosuch'"),
        ([str(suite), f"onnx:{tmp_path / 'missing.onnx'}"], "does not exist"),
        ([str(tmp_path / "none.yaml"), "learner:naive"], "does not exist"),
        ([str(suite), "learner:naive"], "needs a model"),
    ):
        res = pingce_cli(
            ["vision", "evaluate", *args, "--db", str(db), "--no-report", "-q"], tmp_path
        )
        assert res.returncode == 2, (args, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0], (
            args,
            res.stderr,
        )
