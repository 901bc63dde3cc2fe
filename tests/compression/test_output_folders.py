"""`pingce compress llm` replaces OUT_DIR/<recipe>, and `pingce compress run` writes into
--out-dir, only when pingce created that folder (it carries core.paths.OUTPUT_MARKER), and never
when it is or holds the baseline model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pingce.core.errors import SpecError
from pingce.core.paths import OUTPUT_MARKER


def _fake_model(folder: Path) -> Path:
    # Enough for the checks that run before the model is loaded.
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}", encoding="utf-8")
    return folder


def test_unrelated_folder_named_like_the_recipe_is_refused(tmp_path: Path, pingce_cli: Any) -> None:
    model = _fake_model(tmp_path / "model")
    mine = tmp_path / "compressed" / "int8"
    mine.mkdir(parents=True)
    (mine / "results.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    proc = pingce_cli(
        ["compress", "llm", "--model", f"hf:{model}", "--recipe", "int8"]
        + ["--out-dir", str(tmp_path / "compressed"), "--report-dir", str(tmp_path / "r"), "-q"],
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --out-dir"), proc.stderr
    assert "not created by pingce" in lines[0] and "Traceback" not in proc.stderr
    assert (mine / "results.csv").read_text(encoding="utf-8") == "a,b\n1,2\n"


def test_baseline_under_or_at_the_target_is_refused(tmp_path: Path) -> None:
    from pingce.compression.llm import compress_llm

    out = tmp_path / "compressed"
    model = _fake_model(out / "int4" / "baseline")
    (out / "int4" / OUTPUT_MARKER).write_text("{}", encoding="utf-8")  # even a marked one
    with pytest.raises(SpecError, match="contains the input"):
        compress_llm(model, "int4", out)
    # the baseline itself stored as OUT_DIR/<recipe> (a variant compressed again)
    (out / "int4" / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(SpecError, match="is the input"):
        compress_llm(out / "int4", "int4", out)
    assert (model / "config.json").is_file()


def test_marked_variant_is_replaced(tiny_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from pingce.compression.llm import METADATA, compress_llm

    target, _ = compress_llm(tiny_model_dir, "fp16", tmp_path)
    assert target == tmp_path / "fp16" and (target / OUTPUT_MARKER).is_file()
    (target / "stale.bin").write_bytes(b"from an older variant")
    target, _ = compress_llm(tiny_model_dir, "fp16", tmp_path)
    assert not (target / "stale.bin").exists()
    assert (target / OUTPUT_MARKER).is_file() and (target / METADATA).is_file()
    assert not (tiny_model_dir / OUTPUT_MARKER).exists()


def test_compress_run_writes_only_into_its_own_folder(tmp_path: Path, pingce_cli: Any) -> None:
    """`pingce compress run --out-dir` refuses a user's folder (its variant files would replace
    same-named files there); a folder it created is reused."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "int8-dynamic.ts.pt").write_bytes(b"the user's own model")
    args = ["compress", "run", "--model", "zoo:digits-cnn", "--data", "zoo:digits"]
    args += ["--recipe", "int8-dynamic", "--repeats", "5", "--batch-sizes", "1", "--limit", "50"]
    args += ["--report-dir", str(tmp_path / "r"), "--quiet"]
    proc = pingce_cli([*args, "--out-dir", str(mine)], cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: --out-dir") and "not created by pingce" in proc.stderr
    assert (mine / "int8-dynamic.ts.pt").read_bytes() == b"the user's own model"
    proc = pingce_cli([*args, "--out-dir", str(tmp_path / "new")], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "new" / OUTPUT_MARKER).is_file()
    assert (tmp_path / "new" / "int8-dynamic.ts.pt").is_file()
