"""Build the offline test set (`pingce voice build-testset`), deterministic by seed.

Layout of the output folder:
  audio/<utt>.wav                 16 kHz, 16-bit PCM (native rates with --no-confound-removal)
  protocol.txt                    every trial, ASVspoof 5 layout:
                                  speaker utt gender codec codec_q codec_seed attack_tag
                                  attack_label key -   (codec "-" for the "none" condition)
  protocol.{train,dev,eval}.txt   the same, one file per split
  metadata.tsv                    utt key attack condition language speaker split text engine
  build.json                      the configuration, counts and tool versions

Splits are drawn per klettres recording: a recording's bona fide trials and every spoof made
from it (same text; copy synthesis of the same audio) land in the same split, so no content
leaks from train into eval.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pingce.core.errors import DataError
from pingce.voice.testset.conditions import (
    apply_condition,
    check_condition_tools,
    parse_conditions,
)
from pingce.voice.testset.confounds import RATE, equalise, resample
from pingce.voice.testset.sources import (
    ATTACKS,
    Attack,
    Item,
    available,
    klettres_items,
    read_audio,
    synthesize,
)

SPLITS = (("train", 0.5), ("dev", 0.2), ("eval", 0.3))


@dataclass
class BuildConfig:
    seed: int = 1234
    n_bonafide: int = 24
    per_attack: int = 6
    languages: list[str] = field(default_factory=lambda: ["en", "fr", "de", "es", "it"])
    conditions: str = "none,alaw,g722,gsm,amr-nb,opus,mp3,aac,noise-10db"
    attacks: str = "all"
    confound_removal: bool = True


@dataclass(frozen=True)
class Base:
    """One source clip before conditions: a bona fide recording or one spoof of it."""

    item: Item
    attack: Attack | None
    split: str


def _clip_seed(seed: int, *parts: str) -> int:
    h = hashlib.sha256("|".join([str(seed), *parts]).encode()).digest()
    return int.from_bytes(h[:4], "little")


def _select_attacks(value: str) -> list[Attack]:
    if value.strip() == "all":
        chosen = list(ATTACKS)
    else:
        wanted = [v.strip() for v in value.split(",") if v.strip()]
        by = {a.tag: a for a in ATTACKS} | {a.label: a for a in ATTACKS}
        bad = [w for w in wanted if w not in by]
        if bad:
            raise DataError(
                f"unknown attack {bad[0]!r}", hint="one of: " + ", ".join(a.tag for a in ATTACKS)
            )
        chosen = [by[w] for w in wanted]
    missing = [a.tag for a in chosen if not available(a)]
    if missing:
        raise DataError(
            f"attack(s) {', '.join(missing)} unavailable on this machine",
            hint="apt-get install espeak-ng flite festival festvox-us-slt-hts; pip install pyworld; or pass --attacks",
        )
    return chosen


def _tool_versions() -> dict[str, str]:
    out = {}
    for tool, args in (
        ("sox", ["--version"]),
        ("ffmpeg", ["-version"]),
        ("espeak-ng", ["--version"]),
        ("flite", ["--version"]),
    ):
        if shutil.which(tool):
            res = subprocess.run([tool, *args], capture_output=True, text=True)
            out[tool] = (
                (res.stdout or res.stderr).strip().splitlines()[0][:120]
                if (res.stdout or res.stderr)
                else ""
            )
    return out


def plan_bases(cfg: BuildConfig) -> list[Base]:
    rng = np.random.default_rng(cfg.seed)
    items = klettres_items(cfg.languages)
    if len(items) < cfg.n_bonafide:
        raise DataError(
            f"klettres has {len(items)} clips in {','.join(cfg.languages)}, fewer than --bonafide {cfg.n_bonafide}"
        )
    attacks = _select_attacks(cfg.attacks)
    english = [i for i in items if i.language.startswith("en")]
    bona_items = [items[i] for i in rng.choice(len(items), cfg.n_bonafide, replace=False)]
    spoof_pairs: list[tuple[Item, Attack]] = []
    for attack in attacks:
        pool = english if attack.english_only and english else items
        for i in rng.choice(len(pool), min(cfg.per_attack, len(pool)), replace=False):
            spoof_pairs.append((pool[i], attack))
    used = sorted({i.slug for i in bona_items} | {i.slug for i, _ in spoof_pairs})
    order = rng.permutation(len(used))
    split_of: dict[str, str] = {}
    start = 0
    for k, (name, frac) in enumerate(SPLITS):
        end = len(used) if k == len(SPLITS) - 1 else start + int(round(frac * len(used)))
        for j in order[start:end]:
            split_of[used[j]] = name
        start = end
    bases = [Base(i, None, split_of[i.slug]) for i in bona_items]
    bases += [Base(i, a, split_of[i.slug]) for i, a in spoof_pairs]
    return bases


def _protocol_line(t: dict[str, Any]) -> str:
    codec = "-" if t["condition"] == "none" else t["condition"]
    tag = "-" if t["key"] == "bonafide" else t["engine"]
    label = "bonafide" if t["key"] == "bonafide" else t["attack"]
    return f"{t['speaker']} {t['utt']} - {codec} - - {tag} {label} {t['key']} -"


def preflight(cfg: BuildConfig) -> list[str]:
    """Everything that can fail before a file is written: the conditions and attacks named,
    the attacks' engines, and every codec condition's tool (run once on silence). Returns
    the conditions. `pingce voice build-testset` calls it before creating the folder."""
    conditions = parse_conditions(cfg.conditions)
    _select_attacks(cfg.attacks)
    check_condition_tools(conditions)
    return conditions


def build_testset(out: Path, cfg: BuildConfig, show_progress: bool = True) -> dict[str, Any]:
    """Write the test set into `out`; returns a summary (paths and counts)."""
    import soundfile as sf
    from rich.progress import Progress

    conditions = preflight(cfg)
    bases = plan_bases(cfg)
    rng = np.random.default_rng(cfg.seed + 1)
    trials: list[dict[str, Any]] = []
    for b in bases:
        for cond in conditions:
            trials.append({"base": b, "condition": cond})
    order = rng.permutation(len(trials))
    for n, j in enumerate(order, start=1):
        trials[j]["utt"] = f"PCV_{n:06d}"  # ids in shuffled order: the id says nothing of the class
    audio_dir = out / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    by_base: dict[int, list[dict[str, Any]]] = {}
    for t in trials:
        by_base.setdefault(id(t["base"]), []).append(t)
    rows = []
    with Progress(disable=not show_progress, transient=True) as progress:
        bar = progress.add_task("building test set", total=len(bases))
        for b in bases:
            tag = b.attack.tag if b.attack else "bonafide"
            seed = _clip_seed(cfg.seed, b.item.slug, tag)
            if b.attack is None:
                x, rate = read_audio(b.item.path)
            else:
                x, rate = synthesize(b.attack, b.item, seed)
            if x.size == 0 or not np.isfinite(x).all():
                raise DataError(f"{tag} produced no usable audio for {b.item.slug!r}")
            x16 = equalise(x, rate, seed) if cfg.confound_removal else resample(x, rate)
            for t in by_base[id(b)]:
                if not cfg.confound_removal and t["condition"] == "none":
                    y, out_rate = x, rate  # native rate and band: the confound on purpose
                else:
                    y, out_rate = (
                        apply_condition(x16, t["condition"], _clip_seed(cfg.seed, t["utt"])),
                        RATE,
                    )
                sf.write(
                    str(audio_dir / f"{t['utt']}.wav"),
                    np.clip(y, -1.0, 1.0),
                    out_rate,
                    subtype="PCM_16",
                )
                rows.append(
                    {
                        "utt": t["utt"],
                        "key": "bonafide" if b.attack is None else "spoof",
                        "attack": b.attack.label if b.attack else "-",
                        "engine": tag,
                        "condition": t["condition"],
                        "language": b.item.language,
                        "speaker": f"klettres-{b.item.language}" if b.attack is None else tag,
                        "split": b.split,
                        "text": b.item.text.replace("\t", " "),
                        "source": b.item.slug,
                    }
                )
            progress.advance(bar)
    rows.sort(key=lambda r: r["utt"])
    (out / "protocol.txt").write_text(
        "".join(_protocol_line(r) + "\n" for r in rows), encoding="utf-8"
    )
    for split, _ in SPLITS:
        (out / f"protocol.{split}.txt").write_text(
            "".join(_protocol_line(r) + "\n" for r in rows if r["split"] == split), encoding="utf-8"
        )
    cols = [
        "utt",
        "key",
        "attack",
        "condition",
        "language",
        "speaker",
        "split",
        "text",
        "engine",
        "source",
    ]
    with (out / "metadata.tsv").open("w", encoding="utf-8") as fh:
        fh.write("\t".join(cols) + "\n")
        for r in rows:
            fh.write("\t".join(str(r[c]) for c in cols) + "\n")
    counts = {
        s: {
            k: sum(1 for r in rows if r["split"] == s and r["key"] == k)
            for k in ("bonafide", "spoof")
        }
        for s, _ in SPLITS
    }
    summary = {
        "config": asdict(cfg),
        "conditions": conditions,
        # only the attacks this set holds (not every attack pingce knows)
        "attacks": {b.attack.label: b.attack.tag for b in bases if b.attack is not None},
        "n_trials": len(rows),
        "n_bonafide": sum(r["key"] == "bonafide" for r in rows),
        "n_spoof": sum(r["key"] == "spoof" for r in rows),
        "splits": counts,
        "tools": _tool_versions(),
        "protocol": str(out / "protocol.txt"),
        "metadata": str(out / "metadata.tsv"),
    }
    (out / "build.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return summary
