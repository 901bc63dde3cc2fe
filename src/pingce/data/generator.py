"""A synthetic English/Chinese corpus with ground truth for testing and benchmarking.

Clean documents are template prose (several paragraphs, each a few sentences) that real rule
sets should keep. Injected on top, each labelled in the record:

- `gt_kind: exact_dup`  an identical copy (sometimes re-spaced or re-cased) of `gt_of`;
- `gt_kind: near_dup`   a copy of `gt_of` with a few words/characters replaced, and maybe a
  sentence appended or a paragraph break widened (exact Jaccard of its 5-gram shingles
  0.73-0.88, mean 0.84);
- `gt_kind: low_quality` with `gt_defect` in boilerplate, repetition, symbols, too_short,
  gibberish, lorem_ipsum;
- `gt_kind: original`   everything else; `gt_pii` / `gt_toxic` mark documents with injected
  PII or abusive terms (they are otherwise clean).

Duplicates always come after their original in file order, so "keep the first" dedup should
remove exactly the duplicates.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pingce.data import generator_vocab as V

DEFECTS = ("boilerplate", "repetition", "symbols", "too_short", "gibberish", "lorem_ipsum")


@dataclass(frozen=True)
class CorpusConfig:
    docs: int = 1000  # total documents, duplicates and low-quality included
    zh_fraction: float = 0.5
    exact_dup_rate: float = 0.05
    near_dup_rate: float = 0.10
    low_quality_rate: float = 0.10
    pii_rate: float = 0.05
    toxic_rate: float = 0.02
    seed: int = 0
    min_paragraphs: int = 3
    max_paragraphs: int = 6


def _fill(rng: random.Random, template: str, zh: bool) -> str:
    nouns, verbs, adjs, advs = (
        (V.ZH_NOUNS, V.ZH_VERBS, V.ZH_ADJS, V.ZH_ADVS)
        if zh
        else (V.EN_NOUNS, V.EN_VERBS, V.EN_ADJS, V.EN_ADVS)
    )
    values = {
        "noun": rng.choice(nouns),
        "noun2": rng.choice(nouns),
        "noun3": rng.choice(nouns),
        "noun4": rng.choice(nouns),
        "verb": rng.choice(verbs),
        "verb2": rng.choice(verbs),
        "adj": rng.choice(adjs),
        "adj2": rng.choice(adjs),
        "adj3": rng.choice(adjs),
        "adv": rng.choice(advs),
    }
    return template.format(**values)


def sentence(rng: random.Random, zh: bool) -> str:
    s = _fill(rng, rng.choice(V.ZH_TEMPLATES if zh else V.EN_TEMPLATES), zh)
    return s


def clean_document(rng: random.Random, zh: bool, cfg: CorpusConfig) -> str:
    paras = []
    for _ in range(rng.randint(cfg.min_paragraphs, cfg.max_paragraphs)):
        sents = [sentence(rng, zh) for _ in range(rng.randint(3, 6))]
        paras.append(("" if zh else " ").join(sents))
    return "\n\n".join(paras)


NEAR_DUP_EDIT_RATE = 1 / 60  # share of a document's shingle tokens replaced in a near duplicate
_ZH_REPLACEMENTS = "天地人和山水日月风云花草"
_EN_WORD_RE = re.compile(r"[A-Za-z]+")


def near_duplicate(rng: random.Random, text: str, zh: bool) -> str:
    """A light edit: a few tokens replaced, maybe a sentence appended or a break widened.

    The edit is the same in both languages when measured in MinHash shingle tokens (a Han
    character in Chinese, a word in English): round(tokens x NEAR_DUP_EDIT_RATE), at least
    one, distinct tokens each replaced by a different token, so an edit breaks the same share
    of n-gram shingles in either language and the two languages' near duplicates have the
    same true-Jaccard distribution (see benchmarks/results/data_dedup_vs_datatrove.json).
    """
    if zh:
        chars = list(text)
        spans = [(i, i + 1) for i, c in enumerate(chars) if "\u4e00" <= c <= "\u9fff"]
        pool: Sequence[str] = _ZH_REPLACEMENTS
    else:
        spans = [m.span() for m in _EN_WORD_RE.finditer(text)]
        pool = V.EN_NOUNS
    k = min(len(spans), max(1, round(len(spans) * NEAR_DUP_EDIT_RATE)))
    out = text
    # Right to left, so earlier spans keep their offsets when a word changes length.
    for start, end in sorted(rng.sample(spans, k=k), reverse=True):
        old = out[start:end].lower()
        new = rng.choice(pool)
        while new == old:
            new = rng.choice(pool)
        out = out[:start] + new + out[end:]
    roll = rng.random()
    if roll < 0.3:
        out += "\n\n" + sentence(rng, zh)
    elif roll < 0.5:
        out = out.replace("\n\n", "\n\n\n", 1)
    return out


def exact_duplicate(rng: random.Random, text: str) -> str:
    # Whitespace-only variants still count as exact after normalisation.
    return text if rng.random() < 0.7 else text.replace("\n\n", "\n\n  ", 1) + "  "


def low_quality(rng: random.Random, zh: bool, defect: str) -> str:
    if defect == "boilerplate":
        items = V.BOILERPLATE_ZH if zh else V.BOILERPLATE_EN
        return "\n".join(rng.choice(items) for _ in range(rng.randint(12, 30)))
    if defect == "repetition":
        s = sentence(rng, zh)
        return "\n".join([s] * rng.randint(8, 20))
    if defect == "symbols":
        words = [rng.choice(V.ZH_NOUNS if zh else V.EN_NOUNS) for _ in range(60)]
        return " ".join(f"#{w} ..." for w in words)
    if defect == "too_short":
        return sentence(rng, zh)
    if defect == "gibberish":
        if zh:
            return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(150, 400)))
        letters = "bcdfghjklmnpqrstvwxz"
        return " ".join(
            "".join(rng.choice(letters) for _ in range(rng.randint(12, 20))) for _ in range(80)
        )
    if defect == "lorem_ipsum":
        base = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor."
        return "\n".join([base] + [sentence(rng, zh) for _ in range(6)])
    raise ValueError(f"unknown defect {defect!r}")


def pii_sentence(rng: random.Random, zh: bool) -> str:
    user = "".join(rng.choice("abcdefghijklmnop") for _ in range(6))
    phone = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
    if zh:
        return f"如有问题请联系 {user}@example.com 或拨打电话 {phone}。"
    return f"For questions, write to {user}@example.org or call {phone}."


def generate(cfg: CorpusConfig) -> list[dict[str, Any]]:
    """The corpus records, in file order."""
    rng = random.Random(cfg.seed)
    n_exact = round(cfg.docs * cfg.exact_dup_rate)
    n_near = round(cfg.docs * cfg.near_dup_rate)
    n_low = round(cfg.docs * cfg.low_quality_rate)
    n_orig = max(1, cfg.docs - n_exact - n_near - n_low)
    placed: list[tuple[float, dict[str, Any]]] = []
    originals: list[tuple[float, dict[str, Any]]] = []
    for i in range(n_orig):
        zh = rng.random() < cfg.zh_fraction
        text = clean_document(rng, zh, cfg)
        rec: dict[str, Any] = {"id": f"doc-{i:07d}", "text": text, "lang": "zh" if zh else "en"}
        rec.update(gt_kind="original", gt_of=None, gt_defect=None, gt_pii=False, gt_toxic=False)
        if rng.random() < cfg.pii_rate:
            rec["text"] += ("" if zh else " ") + pii_sentence(rng, zh)
            rec["gt_pii"] = True
        elif rng.random() < cfg.toxic_rate / max(1e-9, 1 - cfg.pii_rate):
            rec["text"] += (
                " "
                + rng.choice(["傻逼", "他妈的"] if zh else ["fuck", "bullshit"])
                + ("。" if zh else ".")
            )
            rec["gt_toxic"] = True
        key = rng.random()
        originals.append((key, rec))
        placed.append((key, rec))
    counter = n_orig
    for kind, count in (("exact_dup", n_exact), ("near_dup", n_near)):
        for _ in range(count):
            key, orig = rng.choice(originals)
            zh = orig["lang"] == "zh"
            text = (
                exact_duplicate(rng, orig["text"])
                if kind == "exact_dup"
                else near_duplicate(rng, orig["text"], zh)
            )
            rec = {"id": f"doc-{counter:07d}", "text": text, "lang": orig["lang"]}
            rec.update(
                gt_kind=kind,
                gt_of=orig["id"],
                gt_defect=None,
                gt_pii=orig["gt_pii"],
                gt_toxic=orig["gt_toxic"],
            )
            placed.append((rng.uniform(key, 1.0) + 1e-12, rec))
            counter += 1
    for _ in range(n_low):
        zh = rng.random() < cfg.zh_fraction
        defect = rng.choice(DEFECTS)
        rec = {
            "id": f"doc-{counter:07d}",
            "text": low_quality(rng, zh, defect),
            "lang": "zh" if zh else "en",
        }
        rec.update(
            gt_kind="low_quality", gt_of=None, gt_defect=defect, gt_pii=False, gt_toxic=False
        )
        placed.append((rng.random(), rec))
        counter += 1
    placed.sort(key=lambda kv: kv[0])
    return [rec for _, rec in placed]


def write_corpus(records: list[dict[str, Any]], out: Path, shards: int = 1) -> list[Path]:
    """Write records as JSONL shards (compression from the suffix: .jsonl, .jsonl.gz, .jsonl.zst)."""
    from pingce.data.io.writers import write_jsonl

    out.parent.mkdir(parents=True, exist_ok=True)
    if shards <= 1:
        write_jsonl(out, records)
        return [out]
    name = out.name
    stem, _, ext = name.partition(".")
    paths = []
    per = -(-len(records) // shards)
    for s in range(shards):
        p = out.with_name(f"{stem}-{s:03d}.{ext}")
        write_jsonl(p, records[s * per : (s + 1) * per])
        paths.append(p)
    return paths


def iter_truth(records: list[dict[str, Any]]) -> Iterator[tuple[str, str, str]]:
    for r in records:
        yield r["id"], r["gt_kind"], r["lang"]


def dedup_scores(records: list[dict[str, Any]], removed_ids: set[str]) -> dict[str, float]:
    """Document-level precision/recall of duplicate removal against the ground truth.

    Positives are the injected exact and near duplicates (their original comes first, so a
    perfect keep-the-first dedup removes exactly them). Chinese/English recall use the subset
    of positives in that language.
    """
    positives = {r["id"] for r in records if r["gt_kind"] in ("exact_dup", "near_dup")}
    tp = len(positives & removed_ids)
    precision = tp / len(removed_ids) if removed_ids else 1.0
    recall = tp / len(positives) if positives else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    out = {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "positives": float(len(positives)),
        "removed": float(len(removed_ids)),
    }
    for lang in ("en", "zh"):
        pos = {r["id"] for r in records if r["id"] in positives and r["lang"] == lang}
        out[f"recall_{lang}"] = len(pos & removed_ids) / len(pos) if pos else 1.0
    for kind in ("exact_dup", "near_dup"):
        pos = {r["id"] for r in records if r["gt_kind"] == kind}
        out[f"recall_{kind}"] = len(pos & removed_ids) / len(pos) if pos else 1.0
    return out


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All records of a JSONL file (plain, .gz or .zst)."""
    from pingce.data.io.readers import _open_binary

    with _open_binary(str(path)) as fh:
        return [json.loads(line) for line in fh if line.strip()]
