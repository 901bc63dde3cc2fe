"""Character error rate of transcriptions: Levenshtein edits / reference characters."""

from __future__ import annotations

from collections.abc import Iterable


def normalize_text(text: str, ignore_space: bool = True) -> str:
    """Whitespace removed (PP-OCR's recogniser often drops spaces) or collapsed to one."""
    return "".join(text.split()) if ignore_space else " ".join(text.split())


def edit_distance(ref: str, hyp: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions each cost 1)."""
    if len(ref) < len(hyp):
        ref, hyp = hyp, ref
    prev = list(range(len(hyp) + 1))
    for i, rc in enumerate(ref, start=1):
        cur = [i]
        for j, hc in enumerate(hyp, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rc != hc)))
        prev = cur
    return prev[-1]


def cer(pairs: Iterable[tuple[str, str]], ignore_space: bool = True) -> tuple[float, int, int]:
    """Corpus CER over (reference, hypothesis) pairs: (sum edits / sum ref chars, edits, chars)."""
    edits = chars = 0
    for ref, hyp in pairs:
        r, h = normalize_text(ref, ignore_space), normalize_text(hyp or "", ignore_space)
        edits += edit_distance(r, h)
        chars += len(r)
    return (edits / chars if chars else 0.0), edits, chars
