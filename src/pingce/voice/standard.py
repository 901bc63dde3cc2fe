"""The deepfake-voice identification standard (AI – technical specifications for deepfake
voice identification systems): detector accuracy the ASVspoof / ADD way, plus system-level
requirements (latency, real-time factor, throughput, robustness, bad-audio behaviour).

This module is the `Standard` protocol only; the parts live by job:
- task types and their handlers: `pingce.voice.task_types`, `pingce.voice.tasks`,
  `pingce.voice.add_task` (ADD tracks 2 and 3);
- the report: `pingce.voice.summary` (metrics, indicators) with `pingce.voice.sections` and
  `pingce.voice.breakdown` (sections);
- registration: `pingce.voice.plugin`.
One record per block of trials (score files) or per utterance (systems), so runs resume and
every number is recomputed from stored records.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pingce.voice.options import VoiceOptions

if TYPE_CHECKING:
    from pingce.core.spec import Indicator, SubjectSpec, Suite
    from pingce.core.standard import Plan, RunContext

CHUNK = 2000
SYSTEM_CHUNK = 16  # utterances per chunk of a system run (each one timed)


class VoiceStandard:
    id = "voice"
    title = "Deepfake voice identification systems"
    title_zh = "人工智能 深度合成语音鉴别系统技术规范"
    options_model = VoiceOptions

    def indicators(self) -> list[Indicator]:
        from pingce.voice.catalogue import (
            ADD_METRICS,
            OPERATING_METRICS,
            SYSTEM_INDICATORS,
            TDCF_INDICATOR,
            VOICE_METRICS,
        )

        inds = [m.indicator() for m in [*VOICE_METRICS, *OPERATING_METRICS]]
        add = [m.indicator() for m in ADD_METRICS]
        return inds + [TDCF_INDICATOR] + SYSTEM_INDICATORS + add

    def validate_suite(self, suite: Suite) -> None:
        from pingce.voice.tasks import handler

        for spec in suite.spec.tasks:
            handler(spec, suite)

    def open_subject(self, subject: SubjectSpec, options: dict[str, Any]) -> Any:
        from pingce.voice.systems import open_voice_subject

        return open_voice_subject(subject)

    def plan(self, suite: Suite, subject: Any, options: dict[str, Any]) -> Plan:
        from pingce.core.standard import Plan, PlannedTask
        from pingce.voice.tasks import handler

        tasks = []
        for spec in suite.spec.tasks:
            h = handler(spec, suite)
            tasks.append(PlannedTask(spec.id, h.units(subject), h))
        return Plan(
            tasks=tasks, settings={"tasks": {t.task_id: t.handler.provenance for t in tasks}}
        )

    def execute(self, ctx: RunContext) -> None:
        from pingce.core.execute import run_units
        from pingce.voice.systems import SystemSubject
        from pingce.voice.task_types import SYSTEM
        from pingce.voice.tasks import warm_up

        subject = ctx.subject
        try:
            if isinstance(subject, SystemSubject):
                warm_up(subject)
            for task in ctx.plan.tasks:
                h = task.handler
                run_units(
                    ctx.store,
                    ctx.run_id,
                    task.task_id,
                    task.units,
                    lambda units, h=h: h.process(units, subject),
                    chunk_size=SYSTEM_CHUNK if h.kind == SYSTEM else CHUNK,
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
        from pingce.core.fingerprint import content_hash

        keys = [(r["task"], r["key"]) for r in records]
        key = content_hash(suite, config.get("options", {}), keys)
        if self._last is not None and self._last[0] == key:
            return copy.deepcopy(self._last[1])
        result = self._summarize(suite, config, records)
        self._last = (key, copy.deepcopy(result))
        return result

    _last: tuple[str, dict[str, Any]] | None = None

    def _summarize(
        self, suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        from pingce.voice.summary import summarize_voice

        return summarize_voice(suite, config, records)

    def comparison_records(self, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The per-sample records `pingce compare` pairs: one per trial (sample id = the
        utterance), scored for every detector metric as its registered statistic reads it
        ([score, is_bona_fide]); records of other task types as stored."""
        from pingce.voice.compare import per_trial_records

        return per_trial_records(records)


def register() -> None:
    """Kept for callers of the old entry point; registration lives in `pingce.voice.plugin`."""
    from pingce.voice.plugin import register as register_plugin

    register_plugin()
