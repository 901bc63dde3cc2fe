"""Content hashes, the one file/folder fingerprint, and the environment fingerprint."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import stat
import sys
import threading
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pingce.core.errors import SpecError

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


# Folders that never hold a subject's content: VCS data and caches that change on their own.
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".ipynb_checkpoints"})
_CHUNK = 1 << 20
_file_cache: dict[tuple[str, int, int, int], str] = {}
_cache_lock = threading.Lock()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of one file's bytes, streamed in 1 MiB blocks; cached in this process by
    (real path, size, mtime_ns, inode), so hashing the same unchanged file twice is free."""
    real = os.path.realpath(path)
    st = os.stat(real)
    key = (real, st.st_size, st.st_mtime_ns, st.st_ino)
    with _cache_lock:
        cached = _file_cache.get(key)
    if cached is not None:
        return cached
    h = hashlib.sha256()
    with open(real, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    digest = h.hexdigest()
    with _cache_lock:
        _file_cache[key] = digest
    return digest


def _folder_files(root: Path, skip: frozenset[str]) -> Iterable[tuple[str, Path]]:
    """(relative POSIX path, file) for every regular file under `root`, sorted by path.
    Symbolic links to files count as the file; linked folders are not followed (no loops)."""
    found: list[tuple[str, Path]] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in skip)
        for name in names:
            path = Path(folder) / name
            try:
                mode = os.stat(path).st_mode
            except OSError:  # a dangling link
                continue
            if stat.S_ISREG(mode):
                found.append((path.relative_to(root).as_posix(), path))
    return sorted(found)


def path_fingerprint(
    path: str | os.PathLike[str], *, skip_dirs: frozenset[str] = SKIPPED_DIRS
) -> dict[str, Any]:
    """The one content fingerprint of a file or a folder, for subjects and data sets.

    A file: `{"kind": "file", "sha256", "files": 1, "bytes"}` (sha256 of its bytes). A
    folder: `{"kind": "folder", "sha256", "files", "bytes"}` where sha256 covers every regular
    file below it (sub-folders included, `skip_dirs` left out) as its relative POSIX path,
    size and content hash, in path order; so renaming, moving between sub-folders, adding,
    removing or editing any file changes it, and the folder's own location does not.
    """
    root = Path(path)
    if not root.exists():
        raise SpecError(f"{root} does not exist", hint="check the path")
    if root.is_file():
        return {
            "kind": "file",
            "sha256": file_sha256(root),
            "files": 1,
            "bytes": root.stat().st_size,
        }
    if not root.is_dir():
        raise SpecError(f"{root} is neither a file nor a folder")
    h = hashlib.sha256()
    n = total = 0
    for rel, file in _folder_files(root, skip_dirs):
        size = file.stat().st_size
        h.update(f"{rel}\0{size}\0{file_sha256(file)}\n".encode())
        n += 1
        total += size
    return {"kind": "folder", "sha256": h.hexdigest(), "files": n, "bytes": total}


def path_digest(path: str | os.PathLike[str]) -> str:
    """`path_fingerprint(path)["sha256"]`: one hex digest for a file or a folder."""
    return str(path_fingerprint(path)["sha256"])


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
