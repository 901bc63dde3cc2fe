"""Subjects of the voice standard: a score file, a command, or a Python detector.

- ``scores:FILE``: the output of a detector already run (any layout `formats` reads).
- ``cmd:COMMAND LINE``: a long-running process speaking a line protocol: pingce writes one
  audio path per line to its stdin; it answers one line per path on stdout, either a score
  or ``ERROR <message>``. Started once, so per-utterance latency excludes process start-up.
- ``python:MODULE:FACTORY?k=v``: FACTORY(**params) returns a detector, either a callable
  ``(samples: np.ndarray, sample_rate: int) -> float`` or an object with such a ``score``
  method. The reference detector is
  ``python:pingce.voice.baseline:load_detector?model=PATH``.
"""

from __future__ import annotations

import importlib
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import ModelError, SpecError
from pingce.core.fingerprint import file_sha256
from pingce.core.spec import SubjectSpec


class ScoresSubject:
    """A score file: its content hash is the subject's identity."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise SpecError(f"score file {path} does not exist", hint="check --scores")
        self.path = path
        self.sha256 = file_sha256(path)

    def fingerprint(self) -> dict[str, Any]:
        return {"kind": "scores", "sha256": self.sha256}

    def settings(self) -> dict[str, Any]:
        return {"scores": str(self.path)}


class CommandDetector:
    """A detector process driven over stdin/stdout, one audio path per line."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self.proc is None or self.proc.poll() is not None:
            try:
                self.proc = subprocess.Popen(
                    shlex.split(self.command),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                    bufsize=1,
                )
            except OSError as exc:
                raise ModelError(f"cannot start detector command {self.command!r}: {exc}") from None
        return self.proc

    def score_path(self, path: Path) -> float:
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(f"{path}\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            code = proc.wait(timeout=5)
            self.proc = None
            raise RuntimeError(f"detector exited (code {code}) on {path.name}")
        text = line.strip()
        if text.upper().startswith("ERROR"):
            raise RuntimeError(text[5:].strip(" :") or "detector reported an error")
        try:
            return float(text.split()[-1])
        except (ValueError, IndexError):
            raise RuntimeError(f"detector answered {text[:80]!r}, not a score") from None

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None


def load_python_detector(ref: str, params: dict[str, str]) -> Callable[[np.ndarray, int], float]:
    module_name, _, attr = ref.partition(":")
    if not attr:
        raise SpecError(f"python detector {ref!r} must read MODULE:FACTORY")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SpecError(f"cannot import detector module {module_name!r}: {exc}") from None
    factory = getattr(module, attr, None)
    if factory is None:
        raise SpecError(f"module {module_name!r} has no {attr!r}")
    try:
        det = factory(**params)
    except TypeError as exc:
        raise SpecError(f"{ref}: {exc}") from None
    fn = getattr(det, "score", det)
    if not callable(fn):
        raise SpecError(f"{ref} did not return a detector (a callable or an object with .score)")
    return fn


class SystemSubject:
    """A detector run by pingce on audio files (command or Python)."""

    def __init__(self, spec: SubjectSpec) -> None:
        self.spec = spec
        self.command: CommandDetector | None = None
        self.python: Callable[[np.ndarray, int], float] | None = None
        if spec.scheme == "cmd":
            self.command = CommandDetector(spec.raw.split(":", 1)[1])
        else:
            self.python = load_python_detector(spec.target, dict(spec.params))
        self._fp = self._fingerprint()

    def _fingerprint(self) -> dict[str, Any]:
        fp: dict[str, Any] = {"kind": self.spec.scheme, "ref": self.spec.canonical()}
        model = self.spec.params.get("model")
        if model and Path(model).is_file():
            fp["model_sha256"] = file_sha256(model)
        return fp

    def fingerprint(self) -> dict[str, Any]:
        return self._fp

    def settings(self) -> dict[str, Any]:
        return {"system": self.spec.raw}

    def score(self, path: Path, samples: np.ndarray, rate: int) -> float:
        if self.command is not None:
            return self.command.score_path(path)
        assert self.python is not None
        return float(self.python(samples, rate))

    def close(self) -> None:
        if self.command is not None:
            self.command.close()


def open_voice_subject(spec: SubjectSpec) -> ScoresSubject | SystemSubject:
    if spec.scheme == "scores":
        return ScoresSubject(Path(spec.raw.split(":", 1)[1]).expanduser())
    if spec.scheme in {"cmd", "python"}:
        return SystemSubject(spec)
    raise SpecError(
        f"voice subject {spec.raw!r}: unknown kind {spec.scheme!r}",
        hint="use scores:FILE, cmd:COMMAND or python:MODULE:FACTORY",
    )
