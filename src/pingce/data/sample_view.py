"""How a data-quality record looks in the dashboard: the document's text (the stored
preview), its language and size, and each rule that rejected it with the reason."""

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
)

COLUMNS = ("Document", "Language", "Verdict")
_META = ("id", "source", "lang", "lang_score", "declared_lang", "chars", "tokens", "perplexity")


def view(data: Mapping[str, Any], scores: Mapping[str, Any]) -> SampleView:
    failed = get_dict(data, "failed_rules")
    rows = tuple(
        (str(rule), reason if isinstance(reason, str) else str(reason))
        for rule, reason in failed.items()
    )
    verdict = (
        "kept (no rule rejected it)" if not failed else "rejected by " + ", ".join(sorted(failed))
    )
    preview = get_str(data, "preview") or get_str(data, "text")
    blocks: list[Block] = [Text("document (preview)", preview)]
    blocks.append(
        Table("verdict", ("rule", "reason"), rows, tuple("fail" for _ in rows), note=verdict)
    )
    meta = tuple((k, data[k]) for k in _META if k in data)
    pii = get_list(data, "pii_kinds")
    if pii:
        meta += (("personal data", ", ".join(map(str, pii))),)
    blocks.append(Fields("document", meta))
    if scores:
        blocks.append(Fields("indicator values for this document", tuple(scores.items())))
    lang = get_str(data, "lang")
    return SampleView((preview, lang, verdict), tuple(blocks))
