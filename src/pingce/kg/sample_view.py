"""How a kg record looks in the dashboard: the source text, gold and predicted triples
aligned (matched, missed, spurious), and the triples that break the ontology with why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pingce.core.sample_view import Block, Fields, SampleView, Table, Text, get_list, get_str


def _key(t: Any) -> tuple[str, ...] | None:
    if isinstance(t, list) and len(t) == 3:
        return tuple(str(x).strip().casefold() for x in t)
    return None


COLUMNS = ("Text", "Triples", "Matched")


def _row(side: str, t: Any, status: str) -> tuple[Any, ...]:
    parts = list(t) if isinstance(t, list) and len(t) == 3 else [str(t), "", ""]
    return (side, *parts, status)


def view(data: Mapping[str, Any], scores: Mapping[str, Any]) -> SampleView:
    gold = get_list(data, "gold_triples")
    pred = get_list(data, "pred_triples")
    missed_list = get_list(data, "missed")
    spurious_list = get_list(data, "spurious")
    missed = {k for t in missed_list if (k := _key(t))}
    marked = [_key(t) in missed for t in gold]
    rows, kinds = [], []
    if sum(marked) == len(missed_list):
        # Each gold triple with its outcome (the stored missed set is in normalised form;
        # case and spacing aside, it names gold triples).
        for t, is_missed in zip(gold, marked, strict=True):
            rows.append(_row("gold", t, "missed" if is_missed else "matched"))
            kinds.append("missed" if is_missed else "match")
        note_gold = ""
    else:  # normalisation beyond case (units, aliases): list the stored missed set as is
        for t in missed_list:
            rows.append(_row("gold (normalised)", t, "missed"))
            kinds.append("missed")
        note_gold = " Gold triples are listed as normalised for matching."
    for t in spurious_list:
        rows.append(_row("predicted (normalised)", t, "spurious"))
        kinds.append("extra")
    text = get_str(data, "text")
    blocks: list[Block] = [
        Text("text", text),
        Table(
            "triples",
            ("side", "subject", "relation", "object", "match"),
            tuple(rows),
            tuple(kinds),
            note=f"{data.get('n_matched', '?')} matched after normalisation (case, spacing, "
            "relation aliases); missed: gold not predicted; spurious: predicted, not in the gold "
            "set ('?' marks a relation outside the ontology)." + note_gold,
        ),
        Table(
            "predicted (as submitted)",
            ("subject", "relation", "object"),
            tuple(
                tuple(t) if isinstance(t, list) and len(t) == 3 else (str(t), "", "") for t in pred
            ),
        ),
    ]
    bad = get_list(data, "nonconforming")
    if bad:
        brows = tuple(
            (str(b.get("triple")), str(b.get("reason"))) for b in bad if isinstance(b, dict)
        )
        blocks.append(
            Table("ontology violations", ("triple", "reason"), brows, tuple("fail" for _ in brows))
        )
    n_matched = data.get("n_matched")
    if scores:
        blocks.append(Fields("scores", tuple(scores.items())))
    summary = (
        text,
        f"{len(gold)} gold · {len(pred)} predicted",
        None if n_matched is None else str(n_matched),
    )
    return SampleView(summary, tuple(blocks))
