"""How an llm record looks in the dashboard: prompt, output, extracted answer, reference, and
for multiple choice each option's log-likelihood with the gold and the picked option marked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pingce.core.sample_view import (
    Block,
    Fields,
    SampleView,
    Table,
    Text,
    get_dict,
    get_list,
    get_str,
    number,
    short,
)

COLUMNS = ("Prompt", "Output", "Extracted", "Reference")
_SHOWN = {"prompt", "output", "extracted", "reference", "loglikelihoods", "is_greedy", "gold"}


def view(data: Mapping[str, Any], scores: Mapping[str, Any]) -> SampleView:
    texts = {k: get_str(data, k) for k in ("prompt", "output", "extracted", "reference")}
    blocks: list[Block] = [Text(k, v) for k, v in texts.items() if k in data]
    lls = [number(x) for x in get_list(data, "loglikelihoods")]
    if lls:
        gold = data.get("gold")
        golds = set(gold) if isinstance(gold, list) else {gold}
        greedy = get_list(data, "is_greedy")
        finite = [x for x in lls if x is not None]
        best = lls.index(max(finite)) if finite else None
        rows, kinds = [], []
        for i, ll in enumerate(lls):
            mark = ["gold" if i in golds else "", "highest" if i == best else ""]
            rows.append(
                (
                    chr(65 + i) if i < 26 else str(i),
                    ll,
                    greedy[i] if i < len(greedy) else None,
                    " ".join(m for m in mark if m),
                )
            )
            kinds.append(
                "match"
                if i in golds and i == best
                else "missed"
                if i in golds
                else "extra"
                if i == best
                else ""
            )
        blocks.append(
            Table(
                "options",
                ("option", "log-likelihood", "greedy", "mark"),
                tuple(rows),
                tuple(kinds),
                note="Option texts are not stored per record; the output and reference above are "
                "the highest-scoring and the gold option.",
            )
        )
    extra = [(k, v) for k, v in data.items() if k not in _SHOWN and k != "usage"]
    usage = get_dict(data, "usage")
    if usage:
        extra += [(f"usage.{k}", v) for k, v in usage.items()]
    if extra:
        blocks.append(Fields("other data", tuple(extra)))
    return SampleView(tuple(short(texts[k]) for k in texts), tuple(blocks))
