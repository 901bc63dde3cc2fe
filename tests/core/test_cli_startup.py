"""`pingce --version` starts without loading any standard or heavy library.

Not a timing assertion (timings live in benchmarks/cli_startup.py): a child process runs the
real entry point and reports which modules it imported.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "torch",
    "transformers",
    "numpy",
    "scipy",
    "sklearn",
    "pandas",
    "sqlalchemy",
    "onnx",
    "onnxruntime",
    "rdflib",
    "jsonschema",
    "jinja2",
)
STANDARDS = ("llm", "perf", "compression", "conversion", "data", "voice", "labeling", "kg")

CHILD = """
import json, sys
sys.argv = ["pingce", *{args!r}]
from pingce.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({{"code": code, "modules": sorted(sys.modules)}}), file=sys.stderr)
"""


def _imported(*args: str) -> tuple[int, set[str], str]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(args=list(args))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"]), done.stdout


def test_version_imports_no_standard_and_no_heavy_library() -> None:
    code, modules, stdout = _imported("--version")
    assert code in (0, None)
    assert stdout.startswith("pingce ")
    heavy = sorted(m for m in HEAVY if m in modules)
    assert heavy == [], f"pingce --version imported {heavy}"
    standards = sorted(s for s in STANDARDS if f"pingce.{s}" in modules)
    assert standards == [], f"pingce --version loaded the standards {standards}"
    assert "pingce.core.store" not in modules


def test_python_dash_m_pingce_is_the_pingce_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pingce", "--version"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("pingce ")
