"""How a voice record looks in the dashboard: the trials of a stored block, one row each with
its id, key, score, decision (when the run fixed a threshold), attack, condition and language.

Trials are stored column-wise in blocks (`pingce.voice.columns`); a page shows the first
`MAX_ROWS` trials of a block and says how many there are."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pingce.core.sample_view import Block, Fields, SampleView, Sound, Table, get_str, number

COLUMNS = ("Trials", "Bona fide / spoof", "Attacks")
MAX_ROWS = 500


def view(data: Mapping[str, Any], scores: Mapping[str, Any]) -> SampleView:
    from pingce.voice.columns import table_from_blocks

    blocks: list[Block] = []
    if data.get("block"):
        table = table_from_blocks([dict(data)])
        threshold = number(data.get("threshold"))
        n = len(table)
        bona = int(table.bona.sum())
        rows, kinds = [], []
        for i in range(min(n, MAX_ROWS)):
            t = table.trial(i)
            decision = None
            if threshold is not None:
                decision = "bonafide" if t.score >= threshold else "spoof"
            rows.append((t.utt, t.key, t.score, decision, t.attack, t.condition, t.language))
            kinds.append("" if decision is None else "pass" if decision == t.key else "fail")
        note = f"First {MAX_ROWS} of {n} trials in this block." if n > MAX_ROWS else ""
        if threshold is None:
            note += " No fixed threshold in this run: decisions are made at the EER threshold in the report."
        columns = ("trial", "key", "score", "decision", "attack", "condition", "language")
        blocks.append(Table("trials", columns, tuple(rows), tuple(kinds), note.strip()))
        attacks = sorted({a for a in table.attack.names if a not in ("-", "")})
        summary = (f"{n} trials", f"{bona} / {n - bona}", ", ".join(attacks) or None)
    else:  # one trial per record
        items = tuple((k, v) for k, v in data.items() if k not in ("path", "audio"))
        blocks.append(Fields("trial", items))
        path = get_str(data, "path") or get_str(data, "audio")
        if path:
            blocks.append(Sound("audio", path))
        summary = (get_str(data, "utt"), get_str(data, "key"), get_str(data, "attack"))
    if scores:
        blocks.append(Fields("scores", tuple(scores.items())))
    return SampleView(summary, tuple(blocks))
