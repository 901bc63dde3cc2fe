"""Content hashes and the environment fingerprint stored with every run."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

# Packages whose versions can change a number; recorded when installed.
TRACKED_PACKAGES = (
    "pingce",
    "torch",
    "transformers",
    "tokenizers",
    "datasets",
    "numpy",
    "scipy",
    "sacrebleu",
    "rouge-score",
    "sqlalchemy",
    "pydantic",
    "onnx",
    "onnxruntime",
    "onnxscript",
    "polygraphy",
    "vllm",
)


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace, so equal content hashes equally."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(*parts: Any, length: int = 32) -> str:
    """sha256 over the canonical JSON of `parts`, as hex (truncated to `length`)."""
    return hashlib.sha256(canonical_json(list(parts)).encode("utf-8")).hexdigest()[:length]


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_inventory() -> list[dict[str, Any]]:
    """GPUs torch can see; empty without torch (torch is only imported if already loaded)."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return []
    gpus = []
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        gpus.append({"index": i, "name": props.name, "memory_mb": props.total_memory // 2**20})
    return gpus


def environment(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Python, OS, CPU, GPU and package versions, plus whatever the caller adds (seeds, threads)."""
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpus": gpu_inventory(),
        "packages": package_versions(),
    }
    env.update(extra or {})
    return env


def machine_summary() -> str:
    """One line naming this machine, for benchmark result files."""
    return f"{cpu_model()}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.machine()}"
