"""The venv holds headless OpenCV only, so nothing needs libGL (issue: rapidocr-onnxruntime
requires the GUI `opencv-python`, whose files overwrite `opencv-python-headless`; the Makefile's
scripts/opencv-headless.sh removes it after each install)."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
from pathlib import Path

import pytest

cv2 = pytest.importorskip("cv2", reason="needs the vision extra")


def test_only_the_headless_build_is_installed() -> None:
    names = {(d.metadata["Name"] or "").lower() for d in importlib.metadata.distributions()}
    assert "opencv-python" not in names, (
        "the GUI OpenCV (needs libGL) is installed: `make` removes it after each install, or run "
        "bash scripts/opencv-headless.sh .venv/bin/python"
    )
    assert "opencv-python-headless" in names


@pytest.mark.skipif(shutil.which("ldd") is None, reason="needs ldd (Debian package libc-bin)")
def test_cv2_links_no_libgl() -> None:
    (so,) = (p for p in Path(cv2.__file__).parent.glob("cv2*.so"))
    libs = subprocess.run(["ldd", str(so)], capture_output=True, text=True, check=True).stdout
    assert "libGL" not in libs, libs
