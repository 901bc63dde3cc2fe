"""The voice standard's task handlers: how a suite task becomes work units and records.

- ``voice.scores`` (alias ``voice-scores``): the subject is a score file (``scores:FILE``);
  params: ``keys`` (key or protocol file), ``scores_format``, ``keys_format``. One record per
  block of trials (each trial stored once, in columns).
- ``voice.system`` (alias ``voice-system``): the subject is a detector pingce runs
  (``cmd:...`` or ``python:...``) on the audio of a protocol; params: ``keys`` (protocol),
  ``audio_dir``, ``sample_rate``. One record per utterance.

The ADD challenges' other tracks are `pingce.voice.add_task.AddTask`. `handler()` picks the
class through the registered task types.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pingce.core.errors import DataError, SpecError
from pingce.core.execute import Outcome, WorkUnit
from pingce.core.fingerprint import content_hash
from pingce.core.registry import task_types
from pingce.core.spec import Suite, validate_params
from pingce.voice.columns import TrialTable
from pingce.voice.systems import ScoresSubject, SystemSubject
from pingce.voice.task_types import SCORES, SYSTEM, TYPES, canonical
from pingce.voice.trials import MIN_DISTINCT_SCORES

BLOCK = 50_000  # trials per stored record of a score file (each trial stored once)


class ScoresParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    keys: str | None = None
    scores_format: str = "auto"
    keys_format: str = "auto"
    clean_condition: str | None = None
    negate: bool = False  # the system scores spoof higher: negate, on the user's word only
    threshold: float | None = None  # operating point: accuracy/precision/recall/F1 there
    decisions: bool = False  # the scores are hard decisions, 1 bona fide / 0 spoof


class SystemParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    keys: str
    audio_dir: str
    keys_format: str = "auto"
    sample_rate: int = Field(default=16000, ge=1000)
    audio_ext: str = ".wav"
    clean_condition: str | None = None
    threshold: float | None = None
    decisions: bool = False


PARAMS: dict[str, type[BaseModel]] = {SCORES: ScoresParams, SYSTEM: SystemParams}


class VoiceTask:
    """Plans and processes one detector task: a score file's trials, or a system on audio."""

    def __init__(self, spec: Any, suite: Suite) -> None:
        self.kind = canonical(spec.type)
        if self.kind not in PARAMS:
            raise SpecError(
                f"{suite.source}: task {spec.id}: unknown type {spec.type!r}",
                hint=", ".join(TYPES),
            )
        self.spec = spec
        self.base = suite.base_dir
        self.params: Any = validate_params(
            PARAMS[self.kind], spec.params, f"{suite.source}: task {spec.id}"
        )
        self.provenance: dict[str, Any] = {}

    def _path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base / p

    def units(self, subject: Any) -> list[WorkUnit]:
        fp = subject.fingerprint()
        if self.kind == SCORES:
            from pingce.voice.trials import load_table

            if not isinstance(subject, ScoresSubject):
                raise SpecError(f"task {self.spec.id}: voice-scores needs a scores:FILE subject")
            keys = self._path(self.params.keys) if self.params.keys else None
            table = load_table(
                subject.path,
                keys,
                scores_format=self.params.scores_format,
                keys_format=self.params.keys_format,
                # hard decisions have two values; scores need at least three
                min_distinct=1 if self.params.decisions else MIN_DISTINCT_SCORES,
            )
            if self.params.decisions:
                check_decisions(table, subject.path)
            self.provenance = {**table.provenance, "negated": self.params.negate}
            if self.params.negate:
                table = table.negated()
            # One record per block of trials: a million trials are 20 records, not a million
            # (each trial stored once, in columns; resumable block by block).
            bounds = [(a, min(a + BLOCK, len(table))) for a in range(0, len(table), BLOCK)]
            return [
                WorkUnit(
                    content_hash(fp, self.spec.id, table.block_digest(a, b)),
                    f"trials {a + 1}-{b}",
                    i,
                    (table, a, b),
                )
                for i, (a, b) in enumerate(bounds)
            ]
        from pingce.voice.formats import read_keys

        if not isinstance(subject, SystemSubject):
            raise SpecError(f"task {self.spec.id}: voice-system needs a cmd: or python: subject")
        keys_path = self._path(self.params.keys)
        layout, keys = read_keys(keys_path, self.params.keys_format)
        audio_dir = self._path(self.params.audio_dir)
        if not audio_dir.is_dir():
            raise SpecError(f"audio folder {audio_dir} does not exist", hint="check --audio-dir")
        self.provenance = {
            "keys": str(keys_path),
            "keys_layout": layout,
            "audio_dir": str(audio_dir),
            "n_trials": len(keys),
        }
        out = []
        for i, (utt, (_, row)) in enumerate(keys.items()):
            path = audio_dir / f"{utt}{self.params.audio_ext}"
            key = content_hash(
                fp, self.spec.id, utt, row.key, row.attack, row.condition, self.params.sample_rate
            )
            out.append(WorkUnit(key, utt, i, (path, row)))
        return out

    def process(self, units: list[WorkUnit], subject: Any = None) -> list[Outcome]:
        """Records of a chunk of units (a system task runs `subject` on the audio)."""
        if self.kind == SCORES:
            return self.process_scores(units)
        return self.process_system(subject, units)

    def process_scores(self, units: list[WorkUnit]) -> list[Outcome]:
        outs = []
        for u in units:
            table, a, b = u.payload
            # The record's scores stay empty: its trials are data (stored once), and metrics
            # over trials are computed from all blocks together, never per record.
            outs.append(Outcome({}, {"block": True, **table.block(a, b)}))
        return outs

    def process_system(self, subject: SystemSubject, units: list[WorkUnit]) -> list[Outcome]:
        from pingce.core.measure import measure_latency
        from pingce.voice.audio import BadAudio, check_audio

        outs = []
        for u in units:
            path, row = u.payload
            meta = {
                "key": row.key,
                "attack": row.attack if row.key == "spoof" else "-",
                "condition": row.condition,
                "language": row.language,
                "file": path.name,
            }
            audio = check_audio(path, self.params.sample_rate)
            if isinstance(audio, BadAudio):
                outs.append(Outcome({}, {**meta, "error": audio.kind, "message": audio.message}))
                continue
            result: list[float] = []
            try:
                stats = measure_latency(
                    lambda a=audio, r=result, p=path: r.append(
                        subject.score(p, a.samples, a.sample_rate)
                    ),
                    warmup=0,
                    repeats=1,
                )
                score = result[0]
                if not math.isfinite(score):
                    raise RuntimeError(f"detector returned {score}")
            except Exception as exc:  # the system under test failed on this file: record it, go on
                msg = " ".join(str(exc).split())[:200] or type(exc).__name__
                outs.append(
                    Outcome(
                        {}, {**meta, "error": "detector-error", "message": f"{path.name}: {msg}"}
                    )
                )
                continue
            outs.append(
                Outcome(
                    {},
                    {
                        **meta,
                        "score": score,
                        "latency_ms": stats.samples_ms[0],
                        "seconds": audio.seconds,
                        "clipped": audio.clipped,
                    },
                )
            )
        return outs


def check_decisions(table: TrialTable, path: Path) -> None:
    """With --decisions every score is a decision: 1 bona fide (accepted), 0 spoof."""
    bad = np.flatnonzero((table.score != 0.0) & (table.score != 1.0))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{path}: with --decisions every score must be 1 (bona fide) or 0 (spoof); "
            f"{bad.size} are not (first: {table.utt[i]!r} = {table.score[i]:g})",
            hint="give 0/1 decisions, or soft scores with --threshold T",
        )


def warm_up(subject: SystemSubject) -> None:
    """One untimed call on 1 s of quiet noise, so no utterance's latency includes loading."""
    import tempfile

    import soundfile as sf

    x = np.random.default_rng(0).standard_normal(16000) * 1e-3
    with tempfile.TemporaryDirectory(prefix="pingce-warmup-") as tmp:
        path = Path(tmp) / "warmup.wav"
        sf.write(str(path), x, 16000, subtype="PCM_16")
        # the system's failures are measured on real files, not here
        with contextlib.suppress(Exception):
            subject.score(path, x, 16000)


def handler(spec: Any, suite: Suite) -> Any:
    """The task object of a voice suite task, from the registered task types."""
    kind = canonical(spec.type)
    if kind not in TYPES:
        raise SpecError(
            f"{suite.source}: task {spec.id}: unknown type {spec.type!r}",
            hint=", ".join(TYPES),
        )
    return task_types.get(kind)(spec, suite)
