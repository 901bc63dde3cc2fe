"""The voice step of `pingce demo`: evaluate the bundled LFCC-GMM scores on the built test set.

The demo runs the built-in suite `voice/demo` (`suites/demo.yaml` in this package) through the
shared run path on the bundled scores. The bundle (`suites/demo/`) holds real detector output,
not invented numbers:
`make_demo_bundle` builds the offline test set (seed 1234), trains the LFCC-GMM baseline on
its train split, calibrates on dev, scores the eval split and writes the scores (ASVspoof 5
layout) and the keys (TSV with language). Re-create it with
``python -m pingce.voice.demo OUT_DIR`` on a machine with the Debian packages installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pingce.core.demo import DemoContext

DEMO_CONDITIONS = "none,alaw,g722,gsm,amr-nb,opus,mp3,aac,noise-10db"


SUITES = Path(__file__).resolve().parent / "suites"
DEMO_OPTIONS = {"seed": 1234, "tdcf_formulation": "2019", "asv_rates": None}


def bundle_dir() -> Path:
    return SUITES / "demo"


def make_demo_bundle(out: Path, work: Path, seed: int = 1234) -> dict[str, object]:
    import soundfile as sf

    from pingce.voice.baseline import load_detector, read_metadata, train_from_testset
    from pingce.voice.testset.build import BuildConfig, build_testset

    cfg = BuildConfig(seed=seed, n_bonafide=24, per_attack=6, conditions=DEMO_CONDITIONS)
    summary = build_testset(work, cfg, show_progress=True)
    info = train_from_testset(work, work / "lfcc_gmm.npz", components=16, seed=seed)
    det = load_detector(str(work / "lfcc_gmm.npz"))
    rows = [r for r in read_metadata(work) if r["split"] == "eval"]
    out.mkdir(parents=True, exist_ok=True)
    with (out / "scores.txt").open("w", encoding="utf-8") as fh:
        for r in rows:
            x, rate = sf.read(str(work / "audio" / f"{r['utt']}.wav"), dtype="float64")
            fh.write(f"{r['speaker']} {r['utt']} {det.score(x, rate):.6f} {r['key']}\n")
    cols = ["utt", "key", "attack", "condition", "language"]
    with (out / "keys.tsv").open("w", encoding="utf-8") as fh:
        fh.write("\t".join(cols) + "\n")
        for r in rows:
            fh.write("\t".join(r[c] for c in cols) + "\n")
    provenance = {
        "detector": "pingce LFCC-GMM baseline",
        "training": info,
        "testset": {k: summary[k] for k in ("config", "conditions", "splits", "tools")},
        "n_eval": len(rows),
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2), encoding="utf-8")
    return provenance


def run_voice_demo(ctx: DemoContext) -> str:
    ctx.console.print(
        "[bold]voice[/bold]: evaluates the LFCC-GMM reference detector's scores on pingce's "
        "offline deepfake-voice test set (klettres recordings vs espeak-ng/flite/festival TTS "
        "and Griffin-Lim/WORLD copy synthesis, through G.711/G.722/GSM/AMR/Opus/MP3/AAC/noise): "
        "EER, minDCF, actDCF, Cllr, min t-DCF, DET curves, attack x condition EER."
    )
    return ctx.run_suite("voice/demo", f"scores:{bundle_dir() / 'scores.txt'}", DEMO_OPTIONS)


if __name__ == "__main__":
    import tempfile

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else bundle_dir()
    with tempfile.TemporaryDirectory(prefix="pingce-voice-demo-") as tmp:
        print(json.dumps(make_demo_bundle(target, Path(tmp)), indent=2))
