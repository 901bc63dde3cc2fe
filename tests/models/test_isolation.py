"""The shared model layer keeps standards apart (issue #18 item 3): compression needs no module
of the conversion standard, and the model layer and backends import no standard.

Each check runs in a fresh interpreter and reads `sys.modules` after the work is done.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

COMPRESSION_RUN = r"""
import json, sys
from pathlib import Path
from pingce.compression.suite import compression_suite
from pingce.core.registry import standards
from pingce.core.run import RunRequest, execute_run
from pingce.core.spec import suite_from_dict
from pingce.core.store import open_store
from pingce.core.reporting import build_report_doc

tmp = Path(sys.argv[1])
assert "conversion" not in standards.names(), standards.names()
suite = compression_suite(["same"], batch_sizes=[1], repeats=5, limit=8)
store = open_store(f"sqlite:///{tmp / 'runs.db'}")
run_id = execute_run(
    store,
    RunRequest(
        suite=suite_from_dict(suite, "isolation test", tmp),
        subject="zoo:digits-cnn",
        options={"variants": {"same": "zoo:digits-cnn"}, "data": "zoo:digits", "threads": 1},
    ),
    show_progress=False,
)
doc = build_report_doc(store, store.get_run(run_id))
import pingce.compression.cli, pingce.compression.compressors, pingce.compression.demo  # noqa
import pingce.compression.plugin  # noqa
loaded = sorted(m for m in sys.modules if m.startswith("pingce.conversion"))
print(json.dumps({"loaded": loaded, "agreement": doc["tasks"][1]["metrics"]["cmp_top1_agreement"]["value"]}))
"""


def _python(code: str, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


def test_compression_runs_with_conversion_disabled_and_loads_none_of_it(tmp_path: Path) -> None:
    disabled = ",".join(filter(None, [os.environ.get("PINGCE_DISABLE_STANDARDS"), "conversion"]))
    out = json.loads(
        _python(COMPRESSION_RUN, str(tmp_path), env={"PINGCE_DISABLE_STANDARDS": disabled})
    )
    assert out["loaded"] == []
    assert out["agreement"] == 1.0  # the baseline against itself: every prediction agrees


def test_model_layer_and_hf_backend_import_no_standard() -> None:
    code = (
        "import sys\n"
        "import pingce.models.loaded, pingce.models.converters, pingce.models.latency\n"
        "import pingce.models.datasets, pingce.models.zoo, pingce.models.torch_loader\n"
        "import pingce.models.onnx_runtime, pingce.models.weight_only_kernels\n"
        "import pingce.backends.hf\n"
        "std = ('llm', 'perf', 'compression', 'conversion', 'data', 'voice', 'labeling', 'kg')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[:2] in [['pingce', s] for s in std]))"
    )
    assert _python(code) == "[]"
