#!/usr/bin/env bash
# Keep only the headless OpenCV build in a venv: rapidocr-onnxruntime requires `opencv-python`
# (the GUI build, which needs libGL), and installing it overwrites the files of the
# `opencv-python-headless` that pingce's vision extra asks for (both ship the `cv2` package).
# pip cannot drop a dependency, so after each install this removes the GUI build and lays the
# headless one back (same version, from pip's cache). Usage: scripts/opencv-headless.sh VENV_PYTHON
set -euo pipefail
py=${1:?usage: $0 VENV_PYTHON}
version() { "$py" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null; }

gui=$(version opencv-python || true)
[ -z "$gui" ] && exit 0
headless=$(version opencv-python-headless || true)
"$py" -m pip uninstall -y -q opencv-python
"$py" -m pip install --disable-pip-version-check -q --no-deps --force-reinstall \
  "opencv-python-headless==${headless:-$gui}"
echo "opencv-headless: removed opencv-python $gui; opencv-python-headless ${headless:-$gui} only"
