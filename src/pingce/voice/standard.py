"""The deepfake-voice identification standard (AI – technical specifications for deepfake
voice identification systems): detector accuracy the ASVspoof / ADD way, plus system-level
requirements (latency, real-time factor, throughput, robustness, bad-audio behaviour).

Two task types:
- ``voice-scores``: the subject is a score file (``scores:FILE``); params: ``keys`` (key or
  protocol file), ``scores_format``, ``keys_format``.
- ``voice-system``: the subject is a detector pingce runs (``cmd:...`` or ``python:...``) on
  the audio of a protocol; params: ``keys`` (protocol), ``audio_dir``, ``sample_rate``.
Two more for the ADD challenges' other tracks (`pingce.voice.add_task`):
``voice-add-localisation`` (partially-fake segments) and ``voice-add-attribution``.
One record per trial, so runs resume and every number is recomputed from stored records.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pingce.core.errors import DataError, SpecError
from pingce.core.execute import Outcome, WorkUnit, run_units
from pingce.core.fingerprint import content_hash
from pingce.core.registry import commands, demos, standards
from pingce.core.spec import Indicator, SubjectSpec, Suite, validate_params
from pingce.core.standard import Plan, PlannedTask, RunContext, task_row
from pingce.core.stats import estimates_indexed
from pingce.core.store import records_by_task
from pingce.voice import metrics as vm
from pingce.voice.add_task import (
    ADD_METRICS,
    ADD_TYPES,
    AddTask,
    register_add_metrics,
    summarize_add,
)
from pingce.voice.breakdown import (
    breakdown_section,
    det_section,
    groups,
    heatmap_section,
    robustness_section,
)
from pingce.voice.columns import TrialTable, table_from_blocks
from pingce.voice.indicators import (
    ARRAY_FN,
    BOOTSTRAPPED,
    BY_NAME,
    OPERATING_METRICS,
    VOICE_METRICS,
    eer_min_dcf_resampler,
    operating_resampler,
    register_metrics,
)
from pingce.voice.systems import ScoresSubject, SystemSubject, open_voice_subject
from pingce.voice.trials import MIN_DISTINCT_SCORES

SAMPLES_IN_REPORT = 50
CHUNK = 2000
BLOCK = 50_000  # trials per stored record of a score file (each trial stored once)
LARGE_N = 20_000  # above this many trials the bootstrap uses 200 resamples


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


PARAMS: dict[str, type[BaseModel]] = {"voice-scores": ScoresParams, "voice-system": SystemParams}

SYSTEM_INDICATORS = [
    Indicator(
        id="voice_latency_p50_ms",
        name="Latency per utterance (median)",
        name_zh="单条语音时延（中位数）",
        unit="ms",
        direction="lower",
        definition="Median wall time to score one utterance (pingce.core.measure).",
    ),
    Indicator(
        id="voice_latency_p95_ms",
        name="Latency per utterance (p95)",
        name_zh="单条语音时延（P95）",
        unit="ms",
        direction="lower",
        definition="95th percentile (MLPerf nearest-rank rule) of the per-utterance wall time.",
    ),
    Indicator(
        id="voice_rtf",
        name="Real-time factor",
        name_zh="实时率",
        unit="",
        direction="lower",
        definition="Total scoring time / total audio duration; below 1 is faster than real time.",
    ),
    Indicator(
        id="voice_throughput",
        name="Throughput",
        name_zh="吞吐量",
        unit="utt/s",
        direction="higher",
        definition="Utterances scored per second of scoring time, one at a time.",
    ),
    Indicator(
        id="voice_bad_audio",
        name="Files not scored",
        name_zh="未能评分的文件数",
        unit="files",
        direction="lower",
        definition="Files the system could not score (corrupt, empty, wrong rate, detector error); the batch continues.",
    ),
]
TDCF_INDICATOR = Indicator(
    id="voice_min_tdcf",
    name="min t-DCF",
    name_zh="最小串联检测代价",
    unit="",
    direction="lower",
    definition="Normalised minimum tandem DCF of the CM with a fixed ASV (ASVspoof 2019 or 2021 formulation).",
)


class VoiceTask:
    def __init__(self, spec: Any, suite: Suite) -> None:
        if spec.type not in PARAMS:
            raise SpecError(
                f"{suite.source}: task {spec.id}: unknown type {spec.type!r}",
                hint="voice-scores, voice-system, " + " or ".join(ADD_TYPES),
            )
        self.spec = spec
        self.base = suite.base_dir
        self.params: Any = validate_params(
            PARAMS[spec.type], spec.params, f"{suite.source}: task {spec.id}"
        )

    def _path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base / p

    def units(self, subject: Any) -> list[WorkUnit]:
        fp = subject.fingerprint()
        if self.spec.type == "voice-scores":
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


def trial_table(scored: list[dict[str, Any]]) -> TrialTable:
    """The scored trials of a task's records: blocks of a score file, or one record per
    utterance of a system run."""
    blocks = [r["data"] for r in scored if r["data"].get("block")]
    singles = [r for r in scored if not r["data"].get("block")]
    if not singles:
        return table_from_blocks(blocks)
    from pingce.voice.table import Trial

    trials = [
        Trial(r["sample_id"], float(r["data"]["score"]), r["data"]["key"], r["data"]["attack"],
              r["data"]["condition"], r["data"]["language"])
        for r in singles
    ]  # fmt: skip
    if blocks:  # both kinds in one task: never written so, but read both rather than drop one
        trials = [*table_from_blocks(blocks).trials(), *trials]
    return TrialTable.from_trials(trials)


def _warm_up(subject: SystemSubject) -> None:
    """One untimed call on 1 s of quiet noise, so no utterance's latency includes loading."""
    import tempfile

    import numpy as np
    import soundfile as sf

    x = np.random.default_rng(0).standard_normal(16000) * 1e-3
    with tempfile.TemporaryDirectory(prefix="pingce-warmup-") as tmp:
        path = Path(tmp) / "warmup.wav"
        sf.write(str(path), x, 16000, subtype="PCM_16")
        # the system's failures are measured on real files, not here
        with contextlib.suppress(Exception):
            subject.score(path, x, 16000)


def _handler(spec: Any, suite: Suite) -> VoiceTask | AddTask:
    return AddTask(spec, suite) if spec.type in ADD_TYPES else VoiceTask(spec, suite)


class VoiceStandard:
    id = "voice"
    title = "Deepfake voice identification systems"
    title_zh = "人工智能 深度合成语音鉴别系统技术规范"

    def indicators(self) -> list[Indicator]:
        inds = [m.indicator() for m in [*VOICE_METRICS, *OPERATING_METRICS]]
        add = [m.indicator() for m in ADD_METRICS]
        return inds + [TDCF_INDICATOR] + SYSTEM_INDICATORS + add

    def validate_suite(self, suite: Suite) -> None:
        for spec in suite.spec.tasks:
            _handler(spec, suite)

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> Any:
        return open_voice_subject(subject)

    def plan(self, suite: Suite, subject: Any, options: dict[str, Any]) -> Plan:
        tasks = []
        for spec in suite.spec.tasks:
            handler = _handler(spec, suite)
            tasks.append(PlannedTask(spec.id, handler.units(subject), handler))
        return Plan(
            tasks=tasks, settings={"tasks": {t.task_id: t.handler.provenance for t in tasks}}
        )

    def execute(self, ctx: RunContext) -> None:
        subject = ctx.subject
        try:
            if isinstance(subject, SystemSubject):
                _warm_up(subject)
            for task in ctx.plan.tasks:
                h = task.handler
                if isinstance(h, AddTask):
                    fn = h.process
                elif h.spec.type == "voice-scores":
                    fn = h.process_scores
                else:
                    fn = lambda us, h=h: h.process_system(subject, us)  # noqa: E731
                run_units(
                    ctx.store,
                    ctx.run_id,
                    task.task_id,
                    task.units,
                    fn,
                    chunk_size=16 if h.spec.type == "voice-system" else CHUNK,
                    progress=ctx.progress,
                    description=task.task_id,
                )
        finally:
            if isinstance(subject, SystemSubject):
                subject.close()

    def summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        # A run is summarised when it finishes and again for its report: the same suite,
        # options and record keys (content hashes) give the same result, so the second call
        # reuses the first (a million-trial bootstrap is seconds, not free).
        key = content_hash(suite, config.get("options", {}), [(r["task"], r["key"]) for r in records])  # fmt: skip
        if self._last is not None and self._last[0] == key:
            return copy.deepcopy(self._last[1])
        result = self._summarize(suite, config, records)
        self._last = (key, copy.deepcopy(result))
        return result

    _last: tuple[str, dict[str, Any]] | None = None

    def _summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        options = config.get("options", {})
        seed = int(options.get("seed", 1234))
        by_task = records_by_task(records)
        task_rows, indicators, samples, notes, sections = [], [], [], [], []
        extra: dict[str, Any] = {}
        tdcf_reported = False
        for spec in suite["tasks"]:
            recs = by_task.get(spec["id"], [])
            if spec["type"] in ADD_TYPES:
                add_row, add_inds, add_sections = summarize_add(spec, recs, seed)
                task_rows.append(add_row)
                indicators.extend(add_inds)
                sections.extend(add_sections)
                continue
            failed = [r for r in recs if r["data"].get("error")]
            scored = [r for r in recs if not r["data"].get("error")]
            if not scored:
                if failed:
                    notes.append(f"{spec['id']}: none of {len(failed)} files could be scored.")
                continue
            rows = trial_table(scored)
            bona = rows.score[rows.bona]
            spoof = rows.score[~rows.bona]
            decisions = bool(spec.get("decisions"))
            threshold = 0.5 if decisions else spec.get("threshold")
            if decisions:
                # EER, DCFs, Cllr and the DET breakdown need scores to sweep a threshold over.
                metric_rows: dict[str, dict[str, Any]] = {}
                odd = int(((rows.score != 0.0) & (rows.score != 1.0)).sum())
                if odd:  # a score file is checked when read; a system's outputs only here
                    notes.append(
                        f"{spec['id']}: {odd} of {len(rows)} outputs are not 0/1 decisions; they are read as bona fide "
                        "when >= 0.5 and spoof below."
                    )
                notes.append(
                    f"{spec['id']}: hard decisions (1 bona fide, 0 spoof) are evaluated at the decision itself: "
                    "accuracy, precision, recall and F1 (positive class spoof) with bootstrap CIs; EER, minDCF, "
                    "actDCF, Cllr, t-DCF and the DET breakdown need soft scores and are not computed."
                )
            else:
                metric_rows = self._metric_rows(rows, seed)
                tdcf = self._tdcf(bona, spoof, options)
                if tdcf is not None:
                    metric_rows["voice_min_tdcf"] = tdcf
                    tdcf_reported = True
                else:
                    notes.append(
                        f"{spec['id']}: min t-DCF is not reported: the t-DCF weights are not positive for the ASV error rates given."
                    )
            if threshold is not None:
                op_rows, op_section = self._operating(rows, float(threshold), seed, decisions)
                metric_rows.update(op_rows)
                sections.append(op_section)
            for name, row in metric_rows.items():
                ind = BY_NAME.get(name)
                indicators.append(
                    {
                        "id": name,
                        "name": name,
                        "name_zh": ind.name_zh if ind else TDCF_INDICATOR.name_zh,
                        "unit": row["unit"],
                        "direction": row["direction"],
                        "definition": ind.definition if ind else TDCF_INDICATOR.definition,
                        "value": row["value"],
                        "stderr": row["stderr"],
                        "ci_low": row["ci_low"],
                        "ci_high": row["ci_high"],
                        "n": row["n"],
                        "scope": spec["id"],
                        "threshold": None,
                        "verdict": None,
                    }
                )
            primary = str(options.get("primary_metric", "voice_accuracy" if decisions else "voice_eer"))  # fmt: skip
            task_rows.append(task_row(spec, len(rows), primary, metric_rows))
            reversed_, e, e_neg = vm.reversed_convention(bona, spoof)
            convention = {"reversed": reversed_, "eer": e, "eer_negated": e_neg}
            if reversed_:
                # --negate exists for score files only; a system run is fixed in the system.
                advice = (
                    "make the system output bona-fide-higher scores (e.g. negate them in its command or wrapper); "
                    "pingce voice evaluate --system does not flip them"
                    if spec["type"] == "voice-system"
                    else "rerun with --negate if spoof-higher is the system's convention"
                )
                notes.append(
                    f"{spec['id']}: the scores look reversed (EER {e:.4f} as given, {e_neg:.4f} negated): "
                    f"the system seems to score spoof higher. Metrics use the scores as given; {advice}."
                )
            if decisions:
                extra[spec["id"]] = {"convention": convention, "groups": []}
                self._samples(spec["id"], rows, scored, samples)
                continue
            gs = groups(rows)
            sections.append(breakdown_section(gs))
            sections.append(det_section(rows))
            heat = heatmap_section(rows)
            if heat:
                sections.append(heat)
            clean = spec.get("clean_condition") or next(
                (c for c in ("clean", "none") if c in rows.condition.names), None
            )
            if clean:
                rob = robustness_section(gs, clean)
                if rob:
                    sections.append(rob)
            if spec["type"] == "voice-system":
                sys_sec, sys_inds, sys_extra = self._system(spec["id"], scored, failed)
                sections.extend(sys_sec)
                indicators.extend(sys_inds)
                extra[f"{spec['id']}.system"] = sys_extra
                if failed:
                    notes.append(
                        f"{spec['id']}: {len(failed)} file(s) could not be scored and are left out of the metrics (see 'Files not scored')."
                    )
            extra[spec["id"]] = {"convention": convention, "groups": gs}
            self._samples(spec["id"], rows, scored, samples)
        tdcf_form = str(options.get("tdcf_formulation", "2019"))
        if any(
            spec["type"] not in ADD_TYPES and not spec.get("decisions") for spec in suite["tasks"]
        ):
            notes.append(
                "EER/minDCF CIs: seeded percentile bootstrap over trials."
                + (
                    f" min t-DCF uses the ASVspoof {tdcf_form} formulation with "
                    + (
                        "the ASV error rates given for this run."
                        if options.get("asv_rates")
                        else "the ASVspoof 5 organisers' fixed ASV operating point."
                    )
                    if tdcf_reported
                    else ""
                )
            )
        return {
            "tasks": task_rows,
            "dimensions": [],
            "overall": {
                "score": None,
                "method": "none: detector metrics are reported as measured, not rolled up",
            },
            "indicators": indicators,
            "samples": samples,
            "notes": notes,
            "sections": sections,
            "extra": extra,
        }

    def _samples(self, task_id: str, rows: TrialTable, scored: list[dict[str, Any]], samples: list[dict[str, Any]]) -> None:  # fmt: skip
        """The first trials as report samples (with latency for a system run's trials)."""
        per_trial = {r["sample_id"]: r["data"] for r in scored if not r["data"].get("block")}
        for i in range(min(SAMPLES_IN_REPORT, len(rows))):
            t = rows.trial(i)
            d = per_trial.get(t.utt, {})
            samples.append(
                {
                    "task": task_id,
                    "sample_id": t.utt,
                    "prompt": f"{t.key} attack={t.attack} condition={t.condition} language={t.language}",
                    "output": f"{t.score:.6g}",
                    "extracted": None,
                    "reference": t.key,
                    "scores": {"score": float(t.score)},
                    "data": {
                        k: v for k, v in d.items() if k in ("latency_ms", "seconds", "clipped")
                    },
                }
            )

    def _operating(self, table: TrialTable, threshold: float, seed: int, decisions: bool) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:  # fmt: skip
        """Accuracy, precision, recall, F1 at the threshold with bootstrap CIs, and a section
        with the confusion counts (positive class spoof)."""
        n = len(table)
        ests = estimates_indexed(
            n,
            operating_resampler(table.score, table.bona, threshold),
            n_resamples=1000 if n <= LARGE_N else 200,
            seed=seed,
        )
        rows: dict[str, dict[str, Any]] = {}
        for m, est in zip(OPERATING_METRICS, ests, strict=True):
            rows[m.name] = m.estimate_row(est, n=n, stderr_needs_ci=True)
        flagged = table.score < threshold
        spoof = ~table.bona
        tp, fp = int((flagged & spoof).sum()), int((flagged & table.bona).sum())
        fn, tn = int((~flagged & spoof).sum()), int((~flagged & table.bona).sum())
        how = "hard decisions (1 bona fide, 0 spoof)" if decisions else f"threshold {threshold:g} (score < threshold: spoof)"  # fmt: skip
        section = {
            "id": "voice-operating-point",
            "title": "At the operating point: accuracy, precision, recall, F1",
            "title_zh": "工作点上的准确率、精确率、召回率与F1",
            "text": f"{how}; positive class spoof. Bootstrap 95% CIs over trials.",
            "table": {
                "columns": ["", "flagged spoof", "accepted as bona fide"],
                "rows": [["spoof", tp, fn], ["bona fide", fp, tn]],
            },
        }
        return rows, section

    def _metric_rows(self, table: TrialTable, seed: int) -> dict[str, dict[str, Any]]:
        rows = {}
        n = len(table)
        bona, spoof = table.score[table.bona], table.score[~table.bona]
        # EER and minDCF with bootstrap CIs: index vectors resampled over the arrays (the same
        # draws as core.stats' list path), both statistics from one pass per resample.
        ests = dict(
            zip(
                BOOTSTRAPPED,
                estimates_indexed(
                    n,
                    eer_min_dcf_resampler(table.score, table.bona),
                    n_resamples=1000 if n <= LARGE_N else 200,
                    seed=seed,
                ),
                strict=True,
            )
        )
        for m in VOICE_METRICS:
            if m.name in ests:
                rows[m.name] = m.estimate_row(ests[m.name], n=n, stderr_needs_ci=True)
                rows[m.name]["value"] = float(rows[m.name]["value"])
            else:
                rows[m.name] = m.fixed_row(float(ARRAY_FN[m.name](bona, spoof)), n)
        return rows

    def _tdcf(
        self, bona: list[float], spoof: list[float], options: dict[str, Any]
    ) -> dict[str, Any] | None:
        rates = options.get("asv_rates")
        asv = vm.AsvRates(**rates) if rates else vm.ASVSPOOF5_ASV
        try:
            value, _ = vm.min_tdcf(bona, spoof, asv, str(options.get("tdcf_formulation", "2019")))
        except ValueError:
            return None
        return {
            "value": value,
            "stderr": None,
            "ci_low": None,
            "ci_high": None,
            "n": len(bona) + len(spoof),
            "direction": "lower",
            "unit": "",
            "scale": 0.0,
        }

    def _system(
        self, task_id: str, scored: list[dict[str, Any]], failed: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        from pingce.core.measure import LatencyStats

        lat_s = [r["data"]["latency_ms"] / 1000.0 for r in scored]
        stats = LatencyStats.from_samples(lat_s)
        total_s = sum(lat_s)
        audio_s = sum(r["data"]["seconds"] for r in scored)
        rtf = total_s / audio_s if audio_s > 0 else None
        tput = len(scored) / total_s if total_s > 0 else None
        clipped = [r for r in scored if r["data"].get("clipped")]
        values = {
            "voice_latency_p50_ms": stats.p50_ms,
            "voice_latency_p95_ms": stats.p95_ms,
            "voice_rtf": rtf,
            "voice_throughput": tput,
            "voice_bad_audio": float(len(failed)),
        }
        inds = []
        for ind in SYSTEM_INDICATORS:
            v = values[ind.id]
            inds.append(
                {
                    "id": ind.id,
                    "name": ind.name,
                    "name_zh": ind.name_zh,
                    "unit": ind.unit,
                    "direction": ind.direction,
                    "definition": ind.definition,
                    "value": v,
                    "stderr": None,
                    "ci_low": None,
                    "ci_high": None,
                    "n": len(scored) if ind.id != "voice_bad_audio" else len(scored) + len(failed),
                    "scope": task_id,
                    "threshold": None,
                    "verdict": None,
                }
            )
        ordered = sorted(stats.samples_ms)
        cdf_y = [(i + 1) / len(ordered) for i in range(len(ordered))]
        sections = [
            {
                "id": "voice-system",
                "title": "System performance",
                "title_zh": "系统性能",
                "text": f"{len(scored)} utterances scored one at a time. Mean latency {stats.mean_ms:.2f} ms "
                f"(95% CI {stats.ci_low_ms:.2f}-{stats.ci_high_ms:.2f}); real-time factor = scoring time / audio duration.",
                "table": {
                    "columns": ["indicator", "value"],
                    "rows": [
                        ["latency mean (ms)", round(stats.mean_ms, 3)],
                        ["latency p50 (ms)", round(stats.p50_ms, 3)],
                        ["latency p95 (ms)", round(stats.p95_ms, 3)],
                        ["latency max (ms)", round(stats.max_ms, 3)],
                        ["real-time factor", None if rtf is None else round(rtf, 5)],
                        ["throughput (utt/s)", None if tput is None else round(tput, 3)],
                        ["audio scored (s)", round(audio_s, 3)],
                        ["clipped files (scored)", len(clipped)],
                        ["files not scored", len(failed)],
                    ],
                },
                "charts": [
                    {
                        "kind": "lines",
                        "title": "Latency CDF",
                        "x_label": "latency (ms)",
                        "y_label": "fraction of utterances",
                        "series": [{"name": "latency", "x": ordered, "y": cdf_y}],
                    }
                ],
            }
        ]
        if failed or clipped:
            rows = [
                [
                    r["data"].get("file", r["sample_id"]),
                    r["data"]["error"],
                    r["data"]["message"],
                    "not scored",
                ]
                for r in failed
            ]
            rows += [
                [
                    r["data"].get("file", r["sample_id"]),
                    "clipped",
                    "more than 0.1% of samples at full scale",
                    "scored",
                ]
                for r in clipped
            ]
            sections.append(
                {
                    "id": "voice-bad-audio",
                    "title": "Files not scored and flagged files",
                    "title_zh": "异常音频文件",
                    "table": {"columns": ["file", "problem", "message", "outcome"], "rows": rows},
                }
            )
        extra = {
            "latency": stats.to_dict(),
            "rtf": rtf,
            "throughput": tput,
            "failed": len(failed),
            "clipped": len(clipped),
        }
        return sections, inds, extra


def register() -> None:
    """Entry point of the `pingce.plugins` group for the voice standard."""
    register_metrics()
    register_add_metrics()
    if "voice" not in standards._items:
        from pingce.voice.cli import app
        from pingce.voice.demo import run_voice_demo

        standards.register("voice", VoiceStandard())
        commands.register("voice", app)
        demos.register("50-voice", run_voice_demo)
