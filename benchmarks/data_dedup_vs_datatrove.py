"""MinHash near-dedup: pingce vs datatrove's 4-stage MinHash pipeline vs datasketch MinHash+LSH.

One generated corpus (English + Chinese, injected exact and near duplicates with ground truth,
`pingce.data.generator`), the same MinHash parameters for all three tools (word 5-gram shingles,
112 permutations, 14 bands x 8 rows, keep the first document of each cluster), at 1 and 2
workers. Measured per run: documents/s (wall time of the whole dedup, reading included), peak
RSS (largest single process of the run, from getrusage of the child), precision, recall, F1,
and recall on the Chinese and English duplicates.

Tokenisation is each tool's own, configured for the language: datatrove runs one 4-stage
pipeline per language (the corpus is split by its `lang` field before timing, as a per-language
datatrove pipeline reads per-language files), with its English word tokenizer (spaCy's
rule-based `en`) for English and its Chinese word tokenizer (`language="zho_Hani"`: spaCy's `zh`
with the jieba segmenter; plain "zh" would load spaCy's multi-language `xx`) for Chinese; datasketch users shingle whitespace-split words; pingce uses
words plus one token per Han character (so a Chinese "word 5-gram" is a character 5-gram).
datatrove hashes shingles with its sha1 path: its xxhash path passes str to xxhash 4.x, which
raises.

Parity is agreement on the same definition, not "pingce scores higher": the Jaccard index of
the sets of documents each tool removed, overall and per language. pingce runs twice: with its
default tokenizer (characters for Chinese; the recommended setting, reported with its recall)
and as `pingce_jieba`, `minhash_dedup` with `tokenizer: jieba` (jieba words for Chinese,
datatrove's Chinese definition). Parity is true when pingce_jieba's agreement with datatrove
reaches AGREEMENT_TOLERANCE in every language. The default run's agreement with datatrove is
reported beside it: there the tools share the MinHash/LSH parameters but not the shingles, so
its Chinese figure measures the tokenizer difference, not the implementation.

The generator's near duplicates replace the same share of shingle tokens (Han characters,
English words) in both languages; the script measures the resulting true Jaccard distribution
per language (exact set Jaccard of the shingles) so the Chinese/English recall comparison can
be judged against it. The 1-minute load average is recorded before and after every run: the
machine is shared, and worker scaling means little when other jobs hold the cores.

Run: .venv/bin/python benchmarks/data_dedup_vs_datatrove.py [--docs 50000]
Needs the bench-only packages datatrove and datasketch (never runtime dependencies of pingce).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NGRAM, PERMS, BANDS, ROWS = 5, 112, 14, 8
AGREEMENT_TOLERANCE = 0.9  # Jaccard of the removed-document sets, per language
LANGS = ("en", "zh")


def agreement(a: set[str], b: set[str]) -> float:
    """Jaccard index of two removed-document sets (1.0 when both removed nothing)."""
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def agreement_by_language(a: set[str], b: set[str], lang_of: dict[str, str]) -> dict[str, float]:
    """`agreement` overall and restricted to each language's documents."""
    out = {"all": agreement(a, b)}
    for lang in LANGS:
        out[lang] = agreement(
            {x for x in a if lang_of.get(x) == lang}, {x for x in b if lang_of.get(x) == lang}
        )
    return out


def parity_of(by_lang: dict[str, float], tolerance: float = AGREEMENT_TOLERANCE) -> bool:
    """Parity: the tools agree within the tolerance in every language."""
    return all(by_lang[lang] >= tolerance for lang in LANGS)


def datatrove_language(lang: str) -> str:
    """datatrove's language key whose word tokenizer is the language's own. Plain "zh" maps
    to spaCy's multi-language `xx` tokenizer and "zho" to whitespace splitting; only the
    script-qualified "zho_Hani" loads spaCy `zh` with the jieba segmenter (checked here)."""
    from datatrove.utils.typeshelper import Languages
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    key = {"en": Languages.english, "zh": Languages.chinese__hani}[lang]
    tok = load_word_tokenizer(key)
    want = {"en": "en", "zh": "zh"}[lang]
    if getattr(tok, "language", None) != want:
        raise SystemExit(f"datatrove's tokenizer for {key!r} is {tok!r}, not spaCy {want!r}")
    if (
        lang == "zh"
        and (getattr(tok, "config", None) or {})
        .get("nlp", {})
        .get("tokenizer", {})
        .get("segmenter")
        != "jieba"
    ):
        raise SystemExit(f"datatrove's Chinese tokenizer is not jieba-segmented: {tok.config}")
    return key


def split_by_language(data: Path, out: Path) -> None:
    """Write the corpus's documents into out/LANG/*.jsonl.gz by their `lang` field."""
    import gzip

    for lang in LANGS:
        (out / lang).mkdir(parents=True, exist_ok=True)
    from contextlib import ExitStack

    for src in sorted(data.glob("*.jsonl.gz")):
        with ExitStack() as stack, gzip.open(src, "rt", encoding="utf-8") as fh:
            sinks = {
                lang: stack.enter_context(gzip.open(out / lang / src.name, "wt", encoding="utf-8"))
                for lang in LANGS
            }
            for line in fh:
                sinks[json.loads(line)["lang"]].write(line)


# ----------------------------------------------------------------------------- the tools
def run_pingce(
    data: Path, work: Path, workers: int, tokenizer: str = "cjk_chars", seed: int = 1
) -> set[str]:
    from pingce.data.pipeline import run_pipeline
    from pingce.data.pipeline_spec import pipeline_from_dict

    op = {"ngram": NGRAM, "permutations": PERMS, "bands": BANDS, "tokenizer": tokenizer}
    op["seed"] = seed
    raw = {
        "input": {"path": str(data / "*.jsonl.gz")},
        "output": {"path": str(work / "out"), "format": "jsonl"},
        "operators": [{"minhash_dedup": op}],
        "workers": workers,
        "batch_size": 2000,
    }
    pipe = pipeline_from_dict(raw, "bench", work)
    run_pipeline(pipe, show_progress=False)
    from pingce.data.generator import read_jsonl

    removed: set[str] = set()
    for p in sorted((work / "out" / "audit").glob("removed-*.jsonl.zst")):
        removed.update(r["id"] for r in read_jsonl(p))
    return removed


def run_datatrove(data: Path, work: Path, workers: int) -> set[str]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    # datatrove's xxhash path passes str to xxhash 4.x, which wants bytes: use its sha1 path.
    cfg = MinhashConfig(
        n_grams=NGRAM, num_buckets=BANDS, hashes_per_bucket=ROWS, hash_config=HashConfig(64, "sha1")
    )
    removed: set[str] = set()
    for lang in LANGS:  # one pipeline per language, each with its language's word tokenizer
        dt_lang = datatrove_language(lang)
        src, w = data / "by_lang" / lang, work / lang
        files = len(list(src.glob("*.jsonl.gz")))
        reader = lambda src=src: JsonlReader(str(src), glob_pattern="*.jsonl.gz")  # noqa: E731
        logs = str(w / "logs")
        s1 = LocalPipelineExecutor(
            [reader(), MinhashDedupSignature(str(w / "sigs"), config=cfg, language=dt_lang)],
            tasks=files, workers=workers, logging_dir=logs + "/1",
        )  # fmt: skip
        s2 = LocalPipelineExecutor(
            [MinhashDedupBuckets(str(w / "sigs"), str(w / "buckets"), config=cfg)],
            tasks=BANDS, workers=workers, logging_dir=logs + "/2", depends=s1,
        )  # fmt: skip
        s3 = LocalPipelineExecutor(
            [MinhashDedupCluster(str(w / "buckets"), str(w / "ids"), config=cfg)],
            tasks=1, workers=1, logging_dir=logs + "/3", depends=s2,
        )  # fmt: skip
        s4 = LocalPipelineExecutor(
            [
                reader(),
                MinhashDedupFilter(str(w / "ids"), exclusion_writer=JsonlWriter(str(w / "removed"), compression=None)),
                JsonlWriter(str(w / "kept"), compression=None),
            ],
            tasks=files, workers=workers, logging_dir=logs + "/4", depends=s3,
        )  # fmt: skip
        s4.run()
        for p in (w / "removed").rglob("*.jsonl"):
            removed.update(json.loads(line)["id"] for line in p.open(encoding="utf-8"))
    return removed


def _datasketch_sig(texts: list[str]) -> list[Any]:
    from datasketch import LeanMinHash, MinHash

    out = []
    for text in texts:
        toks = text.lower().split()
        grams = {
            " ".join(toks[i : i + NGRAM]).encode("utf-8")
            for i in range(max(1, len(toks) - NGRAM + 1))
        }
        m = MinHash(num_perm=PERMS, seed=1)
        m.update_batch(list(grams))
        out.append(LeanMinHash(m))
    return out


def run_datasketch(data: Path, work: Path, workers: int) -> set[str]:
    from multiprocessing import get_context

    from datasketch import MinHashLSH

    from pingce.data.generator import read_jsonl

    recs = [r for p in sorted(data.glob("*.jsonl.gz")) for r in read_jsonl(p)]
    texts = [r["text"] for r in recs]
    chunks = [texts[i : i + 2000] for i in range(0, len(texts), 2000)]
    if workers > 1:
        with get_context("spawn").Pool(workers) as pool:
            sigs = [s for part in pool.map(_datasketch_sig, chunks) for s in part]
    else:
        sigs = [s for part in map(_datasketch_sig, chunks) for s in part]
    lsh = MinHashLSH(num_perm=PERMS, params=(BANDS, ROWS))
    removed: set[str] = set()
    for rec, m in zip(recs, sigs, strict=True):
        if lsh.query(m):
            removed.add(rec["id"])
        else:
            lsh.insert(rec["id"], m)
    return removed


def run_pingce_jieba(data: Path, work: Path, workers: int) -> set[str]:
    """pingce with datatrove's Chinese definition: word 5-grams over jieba words."""
    return run_pingce(data, work, workers, tokenizer="jieba")


def run_pingce_jieba_seed2(data: Path, work: Path, workers: int) -> set[str]:
    """The same definition with other MinHash permutations (seed 2): how far two correct
    implementations of one definition agree when their hash functions differ."""
    return run_pingce(data, work, workers, tokenizer="jieba", seed=2)


TOOLS = {
    "pingce": run_pingce,
    "pingce_jieba": run_pingce_jieba,
    "pingce_jieba_seed2": run_pingce_jieba_seed2,
    "datatrove": run_datatrove,
    "datasketch": run_datasketch,
}
ONE_WORKER_ONLY = {"pingce_jieba", "pingce_jieba_seed2"}  # a definition check, not a speed figure


def child(tool: str, data: Path, workers: int, result: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"bench-{tool}-"))
    start = time.perf_counter()
    removed = TOOLS[tool](data, work, workers)
    seconds = time.perf_counter() - start
    result.write_text(
        json.dumps({"seconds": seconds, "removed": sorted(removed)}), encoding="utf-8"
    )


def measure(tool: str, data: Path, workers: int, records: list[dict[str, Any]]) -> dict[str, Any]:
    from pingce.data.generator import dedup_scores

    out = Path(tempfile.mkstemp(suffix=".json")[1])
    env = dict(os.environ, PYTHONHASHSEED="0")
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cmd = [
        sys.executable,
        __file__,
        "--child",
        tool,
        "--data",
        str(data),
        "--workers",
        str(workers),
        "--result",
        str(out),
    ]
    subprocess.run(cmd, check=True, env=env)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    res = json.loads(out.read_text(encoding="utf-8"))
    removed = set(res["removed"])
    scores = dedup_scores(records, removed)
    row = {
        "workers": workers,
        "seconds": round(res["seconds"], 3),
        "docs_per_s": round(len(records) / res["seconds"], 1),
        "peak_rss_mb": round(max(peak_kb, before) / 1024, 1),
        "load_1m_before": round(load_before, 2),
        "load_1m_after": round(os.getloadavg()[0], 2),
        **{k: round(v, 4) for k, v in scores.items()},
        **near_dup_recall_by_language(records, removed),
        "by_language": scores_by_language(records, removed),
        "_removed": sorted(removed),  # for the agreement between tools; not stored
    }
    print(tool, json.dumps(row), flush=True)
    return row


def scores_by_language(records: list[dict[str, Any]], removed: set[str]) -> dict[str, Any]:
    """Precision, recall and F1 of duplicate removal within each language's documents."""
    from pingce.data.generator import dedup_scores

    out = {}
    for lang in LANGS:
        recs = [r for r in records if r["lang"] == lang]
        ids = {r["id"] for r in recs}
        sc = dedup_scores(recs, removed & ids)
        out[lang] = {k: round(sc[k], 4) for k in ("precision", "recall", "f1", "removed")}
    return out


def near_dup_recall_by_language(records: list[dict[str, Any]], removed: set[str]) -> dict[str, Any]:
    """Recall on the injected near duplicates of each language, with a 95 % bootstrap CI."""
    from pingce.core.stats import estimate

    out: dict[str, Any] = {}
    for lang in ("en", "zh"):
        hits = [
            float(r["id"] in removed)
            for r in records
            if r["gt_kind"] == "near_dup" and r["lang"] == lang
        ]
        e = estimate(hits)
        out[f"recall_near_dup_{lang}"] = round(e.value, 4)
        out[f"recall_near_dup_{lang}_ci95"] = [round(e.ci_low, 4), round(e.ci_high, 4)]
    return out


def true_jaccard(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Exact Jaccard of each near duplicate with its original, per language, under three
    shingle definitions (all word 5-grams): pingce's (words + one token per Han character),
    jieba words for Chinese, and whitespace words (what datasketch users and datatrove's
    fallback see). `p_candidate` is the mean LSH candidate probability
    1 - (1 - J^rows)^bands over the pairs: the recall a single pair comparison would expect."""
    import numpy as np

    from pingce.data.minhash import MinHashConfig, MinHasher

    by_id = {r["id"]: r for r in records}
    hashers = {
        "pingce_chars": MinHasher(MinHashConfig(NGRAM, PERMS, BANDS)),
        "jieba_words": MinHasher(MinHashConfig(NGRAM, PERMS, BANDS, tokenizer="jieba")),
    }

    def whitespace(text: str) -> set[str]:
        toks = text.lower().split()
        return {" ".join(toks[i : i + NGRAM]) for i in range(max(1, len(toks) - NGRAM + 1))}

    def jac(a: set[Any], b: set[Any]) -> float:
        return len(a & b) / len(a | b) if a | b else 1.0

    out: dict[str, Any] = {}
    for lang in ("en", "zh"):
        pairs = [
            (by_id[r["gt_of"]]["text"], r["text"])
            for r in records
            if r["gt_kind"] == "near_dup" and r["lang"] == lang
        ]
        per: dict[str, Any] = {"pairs": len(pairs)}
        for name, h in hashers.items():
            if lang == "en" and name == "jieba_words":
                continue  # jieba splits English text like the default tokenizer
            js = np.array(
                [jac(set(h.shingles(a).tolist()), set(h.shingles(b).tolist())) for a, b in pairs]
            )
            per[name] = _describe(js)
        per["whitespace_words"] = _describe(
            np.array([jac(whitespace(a), whitespace(b)) for a, b in pairs])
        )
        out[lang] = per
    return out


def _describe(js: Any) -> dict[str, float]:
    import numpy as np

    p_cand = 1 - (1 - js**ROWS) ** BANDS
    q = np.percentile(js, [5, 50, 95])
    return {
        "mean": round(float(js.mean()), 4),
        "p5": round(float(q[0]), 4),
        "median": round(float(q[1]), 4),
        "p95": round(float(q[2]), 4),
        "min": round(float(js.min()), 4),
        "below_lsh_threshold": round(float((js < (1 / BANDS) ** (1 / ROWS)).mean()), 4),
        "p_candidate": round(float(p_cand.mean()), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=50_000)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument(
        "--tools", default="pingce,pingce_jieba,pingce_jieba_seed2,datasketch,datatrove"
    )
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--child")
    ap.add_argument("--data")
    ap.add_argument("--result")
    ap.add_argument(
        "--out", default=str(ROOT / "benchmarks" / "results" / "data_dedup_vs_datatrove.json")
    )
    args = ap.parse_args()
    if args.child:
        child(args.child, Path(args.data), int(args.workers), Path(args.result))
        return
    import datatrove

    from pingce.core.fingerprint import machine_summary
    from pingce.data.generator import CorpusConfig, generate, write_corpus

    cfg = CorpusConfig(
        docs=args.docs,
        seed=0,
        zh_fraction=0.5,
        exact_dup_rate=0.05,
        near_dup_rate=0.10,
        low_quality_rate=0.0,
        pii_rate=0.0,
        toxic_rate=0.0,
    )
    records = generate(cfg)
    data = Path(tempfile.mkdtemp(prefix="bench-corpus-"))
    write_corpus(records, data / "corpus.jsonl.gz", shards=args.shards)
    split_by_language(data, data / "by_lang")  # datatrove's per-language input (untimed)
    lang_of = {r["id"]: r["lang"] for r in records}
    removed_sets: dict[tuple[str, int], set[str]] = {}
    jaccard = true_jaccard(records)
    print("true Jaccard", json.dumps(jaccard), flush=True)
    results: dict[str, list[dict[str, Any]]] = {}
    for tool in args.tools.split(","):
        for w in (int(x) for x in args.workers.split(",")):
            if tool in ONE_WORKER_ONLY and w != 1:
                continue
            # ru_maxrss of RUSAGE_CHILDREN is a running maximum, so each run starts a fresh parent.
            sub = subprocess.run(
                [sys.executable, "-c", f"import sys; sys.argv=['x']; sys.path.insert(0, {str(Path(__file__).parent)!r});"
                 f"import json, pathlib; import data_dedup_vs_datatrove as b; from pingce.data.generator import generate, CorpusConfig;"
                 f"recs=generate(CorpusConfig(**{cfg.__dict__!r})); print('ROW', json.dumps(b.measure({tool!r}, pathlib.Path({str(data)!r}), {w}, recs)))"],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            line = next(x for x in sub.stdout.splitlines() if x.startswith("ROW "))
            row = json.loads(line[4:])
            removed_sets[(tool, w)] = set(row.pop("_removed"))
            print(tool, row, flush=True)
            results.setdefault(tool, []).append(row)

    def best(tool: str, w: int) -> dict[str, Any]:
        return next(r for r in results[tool] if r["workers"] == w)

    p1, d1, s1 = best("pingce", 1), best("datatrove", 1), best("datasketch", 1)
    ratio = p1["docs_per_s"] / d1["docs_per_s"]
    agree = {
        "pingce_jieba_vs_datatrove": agreement_by_language(
            removed_sets[("pingce_jieba", 1)], removed_sets[("datatrove", 1)], lang_of
        ),
        "pingce_jieba_seed1_vs_seed2": agreement_by_language(
            removed_sets[("pingce_jieba", 1)], removed_sets[("pingce_jieba_seed2", 1)], lang_of
        ),
        "pingce_vs_datatrove": agreement_by_language(
            removed_sets[("pingce", 1)], removed_sets[("datatrove", 1)], lang_of
        ),
        "pingce_vs_datasketch": agreement_by_language(
            removed_sets[("pingce", 1)], removed_sets[("datasketch", 1)], lang_of
        ),
        "datatrove_vs_datasketch": agreement_by_language(
            removed_sets[("datatrove", 1)], removed_sets[("datasketch", 1)], lang_of
        ),
    }
    agree = {k: {lang: round(v, 4) for lang, v in d.items()} for k, d in agree.items()}
    parity = parity_of(agree["pingce_jieba_vs_datatrove"])
    pj = best("pingce_jieba", 1)
    doc = {
        "name": "data_dedup_vs_datatrove",
        "machine": machine_summary(),
        "corpus": {
            "documents": len(records),
            "languages": {"en": 1 - cfg.zh_fraction, "zh": cfg.zh_fraction},
            "exact_dup_rate": cfg.exact_dup_rate,
            "near_dup_rate": cfg.near_dup_rate,
            "shards": args.shards,
            "generator": "pingce.data.generator seed 0",
            "near_dup_true_jaccard": jaccard,
        },
        "params": {
            "shingle": f"word {NGRAM}-gram",
            "permutations": PERMS,
            "bands": BANDS,
            "rows": ROWS,
        },
        "anchor": {
            "tool": "datatrove",
            "version": datatrove.__version__
            if hasattr(datatrove, "__version__")
            else _version("datatrove"),
            "seconds": d1["seconds"],
            "runs": results["datatrove"],
        },
        "datasketch": {
            "tool": "datasketch",
            "version": _version("datasketch"),
            "seconds": s1["seconds"],
            "runs": results["datasketch"],
        },
        "pingce": {"seconds": p1["seconds"], "runs": results["pingce"]},
        "pingce_jieba": {"seconds": pj["seconds"], "runs": results["pingce_jieba"]},
        "ratio": round(ratio, 2),
        "target": "docs/s ratio vs datatrove >= 5 at 1 worker; faster than datasketch; F1 >= both; Chinese recall >= English recall",
        "parity": parity,
        "parity_detail": {
            "definition": "Jaccard index of the removed-document sets of two tools (1 worker), "
            "overall and per language; parity when pingce configured with datatrove's "
            "tokenisation (minhash_dedup tokenizer: jieba; pingce_jieba) agrees with datatrove "
            f">= {AGREEMENT_TOLERANCE} in every language",
            "tolerance": AGREEMENT_TOLERANCE,
            "agreement": agree,
            "hash_noise_ceiling": "pingce_jieba_seed1_vs_seed2: the same definition and "
            "implementation with other MinHash permutations. Pairs whose Jaccard sits near the "
            "LSH threshold (0.72) are found by one hash draw and missed by another, so two "
            "correct implementations of one definition agree only this much on this corpus",
            "same_definition": {
                "pingce": "minhash_dedup tokenizer: jieba (word 5-grams; jieba words for "
                "Chinese, regex words for English)",
                "datatrove": "spaCy en / spaCy zh with jieba (language zho_Hani), word 5-grams",
            },
        },
        "recommended": {
            "setting": "minhash_dedup default tokenizer (cjk_chars: one token per Han "
            "character, words for English)",
            "near_dup_recall": {lang: p1[f"recall_near_dup_{lang}"] for lang in LANGS},
            "near_dup_recall_with_jieba": {lang: pj[f"recall_near_dup_{lang}"] for lang in LANGS},
            "near_dup_recall_datatrove": {lang: d1[f"recall_near_dup_{lang}"] for lang in LANGS},
            "agreement_with_datatrove": agree["pingce_vs_datatrove"],
        },
        "by_language": {
            tool: best(tool, 1)["by_language"]
            for tool in ("pingce", "pingce_jieba", "datatrove", "datasketch")
        },
        "checks": {
            "ratio_ge_5": ratio >= 5,
            "faster_than_datasketch": p1["docs_per_s"] > s1["docs_per_s"],
            "f1_ge_both": p1["f1"] >= d1["f1"] and p1["f1"] >= s1["f1"],
            "zh_recall_ge_en": p1["recall_zh"] >= p1["recall_en"],
            "two_workers_faster_than_one": best("pingce", 2)["docs_per_s"] > p1["docs_per_s"],
            "agreement_same_tokenisation_ge_0.9_per_language": parity,
        },
        "notes": _notes(results, jaccard, p1, best("pingce", 2), agree, len(records)),
    }
    Path(args.out).write_text(json.dumps(doc, indent=2), encoding="utf-8")
    print(json.dumps({k: doc[k] for k in ("ratio", "parity", "checks")}, indent=2))


def _notes(
    results: dict[str, list[dict[str, Any]]],
    jaccard: dict[str, Any],
    p1: dict[str, Any],
    p2: dict[str, Any],
    agree: dict[str, dict[str, float]],
    docs: int,
) -> str:
    same, ceil = agree["pingce_jieba_vs_datatrove"], agree["pingce_jieba_seed1_vs_seed2"]
    dflt = agree["pingce_vs_datatrove"]
    loads = [(r["load_1m_before"], r["load_1m_after"]) for rows in results.values() for r in rows]
    zj, ej = jaccard["zh"]["pingce_chars"], jaccard["en"]["pingce_chars"]
    return (
        "docs/s = corpus documents / wall seconds of the whole dedup run (reading, hashing, "
        "clustering, writing). Peak RSS is the largest single process (ru_maxrss of children). "
        "The three tools ran back to back on the same files; datatrove ran one pipeline per "
        "language (files split by the corpus's lang field before timing) with its English "
        "(spaCy en) and Chinese (spaCy zh with jieba) word tokenizers and its sha1 shingle hash; "
        "its seconds are the two pipelines together; datasketch used whitespace word "
        "5-grams, its signatures computed in a process pool for 2 workers (LSH insertion is "
        "sequential). "
        f"Machine load (1-minute load average on this 2-core machine, shared with other "
        f"engineers' test runs) ranged {min(x for x, _ in loads):.2f}-"
        f"{max(max(x, y) for x, y in loads):.2f} over the runs (per run: load_1m_before/after); "
        "a load near or above 2 means other jobs held the cores, so 2-worker figures taken then "
        "measure contention, not scaling. "
        f"pingce at 1 worker: {p1['docs_per_s']} docs/s, at 2 workers: {p2['docs_per_s']} docs/s. "
        "Chinese vs English: the generator's near duplicates replace round(tokens/60) shingle "
        "tokens (Han characters, English words) in both languages; true Jaccard of pingce's "
        f"shingles, near duplicate vs original: zh mean {zj['mean']} (p5 {zj['p5']}, min "
        f"{zj['min']}), en mean {ej['mean']} (p5 {ej['p5']}, min {ej['min']}); expected LSH "
        f"candidate probability zh {zj['p_candidate']}, en {ej['p_candidate']}. The same near "
        "duplicates segmented with jieba (word 5-grams over jieba words) have mean Jaccard "
        f"{jaccard['zh']['jieba_words']['mean']} (a one-character edit re-segments its "
        "neighbours), and whitespace 5-grams (datasketch, datatrove's fallback) "
        f"{jaccard['zh']['whitespace_words']['mean']}: character tokens keep the most Chinese "
        "recall at these parameters. Near-duplicate recall per language has a 95 % bootstrap "
        "CI in each run (recall_near_dup_*_ci95): with equal Jaccard distributions, zh vs en "
        "differences inside the CIs are sampling noise of LSH. Before this version the "
        "generator replaced floor(n/60) whitespace-split tokens in English (some replaced by the "
        "same noun, some swallowing a paragraph break) but floor(n/60) Han characters in Chinese, "
        "so English near duplicates were edited less (1.44 % vs 1.60 % of shingle tokens; true "
        "Jaccard mean 0.856 vs 0.846) and English recall was higher (0.993 vs 0.988). "
        "The previous result file (pingce 1230 docs/s at 1 worker, 775 at 2; datatrove 176) was "
        "taken under heavy load from other jobs: that code, re-timed at load ~1, took 7.7-8.4 s "
        "at 1 worker and 5.2 s at 2 workers (datasketch 13.5 s); a run of this version at load "
        "5.5-5.8 gave 6762 docs/s at 1 worker and 4291 at 2, i.e. with other jobs holding both "
        "cores a second worker only adds contention. "
        f"This result: {docs:,} documents. Agreement (Jaccard of removed sets) with datatrove on "
        f"the same definition (pingce minhash_dedup tokenizer: jieba): en {same['en']}, zh "
        f"{same['zh']}; the same pingce run against itself with other MinHash permutations "
        f"(seed 2): en {ceil['en']}, zh {ceil['zh']}, the most two correct implementations of "
        "one definition can agree here, since many jieba near duplicates sit at the LSH "
        "threshold. pingce's default (characters for Chinese, the recommended setting) against "
        f"datatrove: en {dflt['en']}, zh {dflt['zh']} (a different Chinese definition)."
    )


def _version(pkg: str) -> str:
    from importlib.metadata import version

    return version(pkg)


if __name__ == "__main__":
    main()
