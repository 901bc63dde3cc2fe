"""`pingce voice ...`: evaluate a detector, build the offline test set, train the baseline."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from pingce.core.cli_kit import Db, Quiet, ReportDir, run_and_report
from pingce.core.errors import SpecError
from pingce.voice.task_types import SCORES, SYSTEM

SUITES = Path(__file__).resolve().parent / "suites"

app = typer.Typer(
    help="Deepfake-voice detectors: evaluate scores or a system, build a test set, train the baseline.",
    no_args_is_help=True,
    add_completion=False,
)


def _asv_rates(value: str | None, formulation: str = "2019") -> dict[str, float] | None:
    if value is None:
        return None
    parts = value.split(",")
    try:
        pfa, pmiss, pmiss_spoof = (float(p) for p in parts)
    except ValueError:
        raise SpecError(
            f"--asv-rates must be PFA,PMISS,PMISS_SPOOF (three fractions), got {value!r}"
        ) from None
    for name, v in (("PFA", pfa), ("PMISS", pmiss), ("PMISS_SPOOF", pmiss_spoof)):
        if not 0.0 <= v <= 1.0:
            raise SpecError(f"--asv-rates: {name} must be between 0 and 1, got {v}")
    from pingce.voice.metrics import AsvRates, tdcf_weights

    try:  # the organisers' script stops on non-positive weights; so does pingce, up front
        tdcf_weights(AsvRates(pfa=pfa, pmiss=pmiss, pmiss_spoof=pmiss_spoof), formulation)
    except ValueError as exc:
        raise SpecError(
            f"--asv-rates {value}: {exc}; the t-DCF is undefined for this ASV"
        ) from None
    return {"pfa": pfa, "pmiss": pmiss, "pmiss_spoof": pmiss_spoof}


def evaluate_suite(task: dict[str, Any]) -> dict[str, Any]:
    """The built-in suite `voice/evaluate` with its task replaced by `task` (the command's)."""
    import yaml

    # pingce's own file (not user input): plain safe_load
    data = yaml.safe_load((SUITES / "evaluate.yaml").read_text(encoding="utf-8"))
    return {**data, "tasks": [task]}


def run_evaluation(
    subject: str,
    task: dict[str, Any],
    options: dict[str, Any],
    *,
    store: Any,
    base_dir: Path,
    quiet: bool = True,
) -> str:
    """Run one voice task through the shared pipeline; returns the run id."""
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.spec import suite_from_dict

    suite = suite_from_dict(evaluate_suite(task), "pingce voice evaluate", base_dir)
    return execute_run(
        store, RunRequest(suite=suite, subject=subject, options=options), show_progress=not quiet
    )


@app.command("evaluate")
def evaluate_cmd(
    scores: Annotated[
        Path | None,
        typer.Option("--scores", help="Score file (ASVspoof 2019 / 2021 / 5 layout, or TSV)."),
    ] = None,
    keys: Annotated[
        Path | None,
        typer.Option(
            "--keys", help="Key / protocol file (optional when the score file carries keys)."
        ),
    ] = None,
    system: Annotated[
        str | None,
        typer.Option(
            "--system", help="Run a detector: 'cmd:COMMAND' or 'python:MODULE:FACTORY?k=v'."
        ),
    ] = None,
    audio_dir: Annotated[
        Path | None, typer.Option("--audio-dir", help="With --system: folder of UTT.wav files.")
    ] = None,
    scores_format: Annotated[
        str, typer.Option("--scores-format", help="auto|asvspoof2019|asvspoof2021|asvspoof5|tsv")
    ] = "auto",
    keys_format: Annotated[
        str, typer.Option("--keys-format", help="auto|asvspoof2019|asvspoof2021|asvspoof5|tsv")
    ] = "auto",
    sample_rate: Annotated[
        int,
        typer.Option("--sample-rate", help="With --system: the rate every file must have (Hz)."),
    ] = 16000,
    negate: Annotated[
        bool, typer.Option("--negate", help="The system scores spoof higher: negate its scores.")
    ] = False,
    tdcf: Annotated[str, typer.Option("--tdcf", help="t-DCF formulation: 2019 or 2021.")] = "2019",
    asv_rates: Annotated[
        str | None,
        typer.Option(
            "--asv-rates",
            help="ASV error rates PFA,PMISS,PMISS_SPOOF for t-DCF (default: ASVspoof 5's).",
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            help="Operating threshold: also report accuracy, precision, recall and F1 there "
            "(score < threshold: spoof; positive class spoof).",
        ),
    ] = None,
    decisions: Annotated[
        bool,
        typer.Option(
            "--decisions",
            help="The scores are hard decisions, 1 bona fide / 0 spoof: report accuracy, "
            "precision, recall and F1 (no EER).",
        ),
    ] = False,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 1234,
    report_dir: ReportDir = Path("reports"),
    quiet: Quiet = False,
    db: Db = None,
) -> None:
    """Evaluate a detector's scores against keys (or run a detector on audio) and report."""
    if tdcf not in {"2019", "2021"}:
        raise SpecError(f"--tdcf must be 2019 or 2021, got {tdcf!r}")
    if decisions and threshold is not None:
        raise SpecError(
            "--decisions and --threshold exclude each other (decisions have no threshold)"
        )
    if threshold is not None and not math.isfinite(threshold):
        raise SpecError(f"--threshold must be a finite number, got {threshold}")
    options = {"seed": seed, "tdcf_formulation": tdcf, "asv_rates": _asv_rates(asv_rates, tdcf)}
    point: dict[str, Any] = {"decisions": True} if decisions else {}
    if threshold is not None:
        point["threshold"] = threshold
    if (scores is None) == (system is None):
        raise SpecError("give exactly one of --scores FILE or --system REF")
    if scores is not None:
        task: dict[str, Any] = {
            "id": "cm",
            "type": SCORES,
            "title": "Countermeasure scores",
            "scores_format": scores_format,
            "keys_format": keys_format,
            "negate": negate,
            **point,
        }
        if keys is not None:
            task["keys"] = str(keys.resolve())
        subject = f"scores:{scores.resolve()}"
    else:
        if keys is None or audio_dir is None:
            raise SpecError("--system needs --keys PROTOCOL and --audio-dir DIR")
        if negate:
            raise SpecError("--negate applies to --scores; wrap the system to flip its sign")
        task = {
            "id": "cm",
            "type": SYSTEM,
            "title": "Countermeasure system",
            "keys": str(keys.resolve()),
            "audio_dir": str(audio_dir.resolve()),
            "keys_format": keys_format,
            "sample_rate": sample_rate,
            **point,
        }
        subject = str(system)
    opened: list[Any] = []

    def run(store: Any) -> str:
        opened.append(store)
        return run_evaluation(subject, task, options, store=store, base_dir=Path.cwd(), quiet=quiet)

    run_id = run_and_report(run, db=db, report_dir=report_dir, quiet=quiet)
    print_indicators(opened[0].get_run(run_id).results or {})


MAIN_INDICATORS = (
    "voice_eer",
    "voice_min_dcf",
    "voice_act_dcf",
    "voice_cllr",
    "voice_min_cllr",
    "voice_min_tdcf",
    "voice_accuracy",
    "voice_precision",
    "voice_recall",
    "voice_f1",
)


def print_indicators(results: dict[str, Any]) -> None:
    """The main detector indicators on the console (the summary table shows only the primary
    metric): one line each, with the 95% CI where there is one."""
    for task in results.get("tasks", []):
        for name in MAIN_INDICATORS:
            m = task.get("metrics", {}).get(name)
            if m is None:
                continue
            ci = f"  [{m['ci_low']:.4f}, {m['ci_high']:.4f}]" if m.get("ci_low") is not None else ""
            typer.echo(f"{task['id']}  {name:<16} {m['value']:.4f}{ci}")


@app.command("evaluate-add")
def evaluate_add_cmd(
    pred: Annotated[
        Path,
        typer.Option("--pred", help="Predictions: UTT START END LABEL, or UTT PREDICTED TRUE."),
    ],
    task_kind: Annotated[
        str,
        typer.Option("--task", help="localisation (ADD 2023 track 2) or attribution (track 3)."),
    ],
    ref: Annotated[
        Path | None,
        typer.Option("--ref", help="localisation: reference segments (UTT START END LABEL)."),
    ] = None,
    frame_step: Annotated[
        float, typer.Option("--frame-step", help="localisation: frame grid in seconds.")
    ] = 0.01,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 1234,
    report_dir: ReportDir = Path("reports"),
    quiet: Quiet = False,
    db: Db = None,
) -> None:
    """Score ADD challenge outputs: segment F1 / sentence accuracy, or attribution macro-F1."""
    from pingce.voice.task_types import ATTRIBUTION, LOCALISATION

    if not pred.is_file():
        raise SpecError(f"--pred file {pred} does not exist")
    if task_kind == "localisation":
        if ref is None:
            raise SpecError("--task localisation needs --ref REFERENCE_SEGMENTS")
        if not ref.is_file():
            raise SpecError(f"--ref file {ref} does not exist")
        if not 0 < frame_step <= 1:
            raise SpecError(f"--frame-step must be in (0, 1] seconds, got {frame_step}")
        task: dict[str, Any] = {
            "id": "add-localisation",
            "type": LOCALISATION,
            "title": "Partially-fake localisation (ADD 2023 track 2)",
            "title_zh": "部分伪造定位（ADD 2023 赛道2）",
            "ref": str(ref.resolve()),
            "frame_step": frame_step,
        }
    elif task_kind == "attribution":
        if ref is not None:
            raise SpecError("--task attribution reads the true labels from --pred; drop --ref")
        task = {
            "id": "add-attribution",
            "type": ATTRIBUTION,
            "title": "Algorithm attribution (ADD 2023 track 3)",
            "title_zh": "生成算法溯源（ADD 2023 赛道3）",
        }
    else:
        raise SpecError(f"--task must be localisation or attribution, got {task_kind!r}")
    subject = f"scores:{pred.resolve()}"
    run_and_report(
        lambda store: run_evaluation(
            subject, task, {"seed": seed}, store=store, base_dir=Path.cwd(), quiet=quiet
        ),
        db=db,
        report_dir=report_dir,
        quiet=quiet,
    )


@app.command("build-testset")
def build_testset_cmd(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write audio and protocols into.")
    ],
    seed: Annotated[int, typer.Option(help="Seed: same seed, same set.")] = 1234,
    bonafide: Annotated[int, typer.Option("--bonafide", help="Bona fide source clips.")] = 24,
    per_attack: Annotated[
        int, typer.Option("--per-attack", help="Spoof source clips per attack.")
    ] = 6,
    languages: Annotated[
        str, typer.Option(help="Comma-separated klettres languages (espeak-ng speaks them all).")
    ] = "en,fr,de,es,it",
    conditions: Annotated[
        str, typer.Option(help="Comma-separated conditions (see docs); 'all' for every one.")
    ] = "clean,alaw,ulaw,g722,gsm,amr-nb,opus,mp3,aac,noise-20db,noise-10db",
    attacks: Annotated[
        str, typer.Option(help="Comma-separated attacks; 'all' for every one.")
    ] = "all",
    no_confound_removal: Annotated[
        bool,
        typer.Option(
            "--no-confound-removal",
            help="Skip rate/band/loudness/silence equalisation (to show why it matters).",
        ),
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Build the offline test set: klettres bona fide, TTS and vocoder spoofs, codec/noise chains."""
    from pingce.core.paths import prepare_output_dir
    from pingce.voice.testset.build import BuildConfig, build_testset, preflight

    for name, count in (("--bonafide", bonafide), ("--per-attack", per_attack)):
        if count < 1:  # an empty class gives no EER; minutes of synthesis first
            raise SpecError(f"{name} must be at least 1, got {count}")
    cfg = BuildConfig(
        seed=seed,
        n_bonafide=bonafide,
        per_attack=per_attack,
        languages=[x.strip() for x in languages.split(",") if x.strip()],
        conditions=conditions,
        attacks=attacks,
        confound_removal=not no_confound_removal,
    )
    # Missing codec tools or engines fail here, before the folder exists (no partial set).
    preflight(cfg)
    # a folder of the user's is never written over; a set pingce built before is rebuilt
    prepare_output_dir(out, command="pingce voice build-testset", option="--out")
    summary = build_testset(out, cfg, show_progress=not quiet)
    typer.echo(
        f"wrote {summary['n_trials']} trials ({summary['n_bonafide']} bona fide, {summary['n_spoof']} spoof) to {out}"
    )
    for name in ("protocol", "metadata"):
        typer.echo(f"{name}: {summary[name]}")


@app.command("train-baseline")
def train_baseline_cmd(
    data: Annotated[Path, typer.Option("--data", help="A folder written by build-testset.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model file to write (.npz).")],
    kind: Annotated[
        str, typer.Option("--kind", help="gmm (LFCC-GMM) or cnn (LFCC-LCNN, torch).")
    ] = "gmm",
    components: Annotated[int, typer.Option(help="gmm: Gaussians per class.")] = 16,
    epochs: Annotated[int, typer.Option(help="cnn: training epochs.")] = 30,
    seed: Annotated[int, typer.Option(help="Seed: same seed and set, same model file.")] = 1234,
    quiet: Quiet = False,
) -> None:
    """Train a reference detector on the train split, calibrate it on the dev split."""
    if kind == "gmm":
        from pingce.voice.baseline import train_from_testset

        if components < 1:
            raise SpecError(f"--components must be at least 1, got {components}")
        info = train_from_testset(data, out, components=components, seed=seed)
        module = "pingce.voice.baseline"
    elif kind == "cnn":
        from pingce.voice.cnn import train_from_testset as train_cnn

        if epochs < 1:
            raise SpecError(f"--epochs must be at least 1, got {epochs}")
        info = train_cnn(data, out, epochs=epochs, seed=seed, show_progress=not quiet)
        module = "pingce.voice.cnn"
    else:
        raise SpecError(f"--kind must be gmm or cnn, got {kind!r}")
    typer.echo(
        f"model: {out}  (train {info['n_train']} clips, dev {info['n_dev']} clips; dev EER {info['dev_eer']:.4f})"
    )
    typer.echo(
        f"evaluate it with: pingce voice evaluate --system 'python:{module}:load_detector?model={out}' --keys {data}/protocol.eval.txt --audio-dir {data}/audio"
    )
