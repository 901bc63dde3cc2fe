"""`pingce import lm-eval` is reachable from the root command (registered by the llm plugin)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_pingce_import_lm_eval_is_a_root_command() -> None:
    pingce = str(Path(sys.executable).parent / "pingce")
    out = subprocess.run([pingce, "import", "lm-eval", "--help"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "lm-eval" in out.stdout and "--out" in out.stdout
