"""`pingce steel ...`: generate synthetic heats, evaluate an end-point model, check heat data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pingce.core.cli_kit import Db, NoReport, Quiet, ReportDir, out, run_and_report
from pingce.core.errors import SpecError

app = typer.Typer(
    help="Steel smelting decision models: BOF end-point evaluation and process-data quality.",
    no_args_is_help=True,
)


def _new_file(path: Path, option: str) -> None:
    """pingce never overwrites a file it did not create."""
    if path.exists():
        raise SpecError(
            f"{option} {path} already exists; pingce does not overwrite it",
            hint="choose a new file name",
        )
    if not path.parent.is_dir():
        raise SpecError(f"{option} {path}: the folder {path.parent} does not exist")


def _write(frame: Any, path: Path) -> None:
    if path.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


@app.command()
def generate(
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="Heat table to write (.csv or .parquet).")
    ],
    heats: Annotated[int, typer.Option(help="Number of heats (before injected duplicates).")] = 600,
    seed: Annotated[int, typer.Option(help="Seed of the generator.")] = 0,
    series: Annotated[
        Path | None,
        typer.Option(
            "--series", help="Also write sensor series (.csv or .parquet) for the first heats."
        ),
    ] = None,
    series_heats: Annotated[
        int, typer.Option("--series-heats", help="Heats with sensor series.")
    ] = 20,
    clean: Annotated[
        bool,
        typer.Option("--clean", help="No injected faults, drift, duplicates or leakage column."),
    ] = False,
) -> None:
    """Write synthetic BOF heats (a simplified mass and heat balance; not plant data)."""
    from pingce.steel.generator import HeatConfig, generate_heats, generate_series

    if not 20 <= heats <= 200_000:
        raise SpecError(f"--heats must be between 20 and 200000, got {heats}")
    if series_heats < 1:
        raise SpecError(f"--series-heats must be >= 1, got {series_heats}")
    for path, option in ((out_path, "--out"), (series, "--series")):
        if path is not None:
            if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
                raise SpecError(f"{option} {path}: expected a .csv or .parquet file name")
            _new_file(path, option)
    cfg = HeatConfig(heats=heats, seed=seed)
    if clean:
        cfg = HeatConfig(
            heats=heats,
            seed=seed,
            missing_rate=0,
            fault_rate=0,
            duplicate_rate=0,
            drift=0,
            leakage=False,
        )
    frame = generate_heats(cfg)
    _write(frame, out_path)
    out.print(f"wrote {len(frame)} heats to {out_path} (synthetic, seed {seed})")
    if series is not None:
        s = generate_series(frame, seed=seed, max_heats=series_heats)
        _write(s, series)
        out.print(f"wrote {len(s)} sensor samples of {series_heats} heats to {series}")


def _tolerances(values: list[str]) -> dict[str, list[float]]:
    from pingce.steel.metrics import TARGETS

    result: dict[str, list[float]] = {}
    for item in values:
        key, sep, tols = item.partition("=")
        if not sep or key not in TARGETS:
            raise SpecError(
                f"--tolerance {item!r}: expected TARGET=T1[,T2] with TARGET one of {', '.join(TARGETS)}"
            )
        try:
            result[key] = [float(t) for t in tols.split(",") if t.strip()]
        except ValueError:
            raise SpecError(f"--tolerance {item!r}: tolerances must be numbers") from None
        if not result[key] or any(not t > 0 for t in result[key]):
            raise SpecError(f"--tolerance {item!r}: tolerances must be positive numbers")
    return result


def _units(values: list[str]) -> dict[str, str]:
    result = {}
    for item in values:
        col, sep, unit = item.partition("=")
        if not sep or not col or not unit:
            raise SpecError(f"--units {item!r}: expected COLUMN=UNIT (e.g. hm_temp_c=K)")
        result[col] = unit
    return result


def evaluate_request(
    model: str,
    data: Path | None,
    test_fraction: float,
    tolerances: dict[str, list[float]],
    importance: bool,
    trust_pickle: bool,
    units: dict[str, str],
    seed: int,
) -> Any:
    """The run request of `pingce steel evaluate` (the bof-endpoint suite with the user's data)."""
    from pingce.core.run import RunRequest
    from pingce.core.spec import suite_from_dict

    if not 0 < test_fraction <= 1:
        raise SpecError(f"--test-fraction must be in (0, 1], got {test_fraction}")
    if data is not None and not data.exists():
        raise SpecError(f"--data {data} does not exist")
    common: dict[str, Any] = {"split": {"test_fraction": test_fraction}, "units": units}
    if data is not None:
        common["data"] = str(data.resolve())
    tasks = [
        {
            "id": "endpoint",
            "type": "steel.endpoint",
            "title": "BOF end-point prediction",
            "title_zh": "转炉终点预报",
            "tolerances": tolerances,
            **common,
        }
    ]
    if importance:
        tasks.append(
            {
                "id": "importance",
                "type": "steel.importance",
                "title": "Explanation stability",
                "title_zh": "解释稳定性",
                **common,
            }
        )
    suite = suite_from_dict(
        {
            "standard": "steel",
            "name": "steel/bof-endpoint",
            "title": "BOF end-point model",
            "title_zh": "转炉终点预报模型",
            "tasks": tasks,
        },
        source=f"pingce steel evaluate --model {model}",
        base_dir=Path.cwd(),
    )
    return RunRequest(
        suite=suite, subject=model, options={"trust_pickle": trust_pickle, "seed": seed}
    )


@app.command()
def evaluate(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="pickle:M.pkl, onnx:M.onnx, python:module:function or http://HOST/PATH.",
        ),
    ],
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", help="Heat table (.csv, .parquet, saved dataset); default: generated heats."
        ),
    ] = None,
    test_fraction: Annotated[
        float,
        typer.Option(
            "--test-fraction",
            help="Latest share of heats (by decision time) held out; 1 = the whole table.",
        ),
    ] = 0.3,
    tolerance: Annotated[
        list[str] | None,
        typer.Option(
            "--tolerance", help="TARGET=T1[,T2], e.g. temp=10,15 or c=0.02 (first is primary)."
        ),
    ] = None,
    importance: Annotated[
        bool,
        typer.Option("--importance/--no-importance", help="Also measure explanation stability."),
    ] = True,
    trust_pickle: Annotated[
        bool,
        typer.Option("--trust-pickle", help="Allow loading a pickle (it runs code from the file)."),
    ] = False,
    units: Annotated[
        list[str] | None, typer.Option("--units", help="COLUMN=UNIT of the file, e.g. hm_temp_c=K.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of resampling and bootstrap CIs.")] = 1234,
    report_dir: ReportDir = Path("reports"),
    no_report: NoReport = False,
    quiet: Quiet = False,
    db: Db = None,
) -> None:
    """Score an end-point model on time-ordered held-out heats (hit rates, MAE, RMSE, R², drift)."""
    request = evaluate_request(
        model,
        data,
        test_fraction,
        _tolerances(tolerance or []),
        importance,
        trust_pickle,
        _units(units or []),
        seed,
    )
    run_and_report(request, db=db, report_dir=None if no_report else report_dir, quiet=quiet)


def process_data_suite(with_series: bool) -> Any:
    """The built-in steel/process-data suite, without its time-series task when there is no series."""
    from pingce.core.spec import load_suite, suite_from_dict

    suite = load_suite("steel/process-data")
    if with_series:
        return suite
    spec = suite.spec.model_dump(mode="json")
    spec["tasks"] = [t for t in spec["tasks"] if t["type"] != "steel.quality.timeseries"]
    return suite_from_dict(spec, suite.source, suite.base_dir)


@app.command()
def check(
    heats: Annotated[
        str,
        typer.Option("--heats", help="Heat table (.csv, .parquet, saved dataset) or 'generated'."),
    ],
    series: Annotated[
        Path | None, typer.Option("--series", help="Sensor series for the time-series checks.")
    ] = None,
    units: Annotated[
        list[str] | None, typer.Option("--units", help="COLUMN=UNIT of the file, e.g. hm_temp_c=K.")
    ] = None,
    report_dir: ReportDir = Path("reports"),
    no_report: NoReport = False,
    quiet: Quiet = False,
    db: Db = None,
) -> None:
    """Process-data quality of a heat table: the steel/process-data suite."""
    from pingce.core.run import RunRequest

    if heats != "generated" and not Path(heats).exists():
        raise SpecError(f"--heats {heats} does not exist")
    if series is not None and not series.exists():
        raise SpecError(f"--series {series} does not exist")
    params = []
    if series is not None:
        params.append(f"series={series.resolve()}")
    if units:
        params.append("units=" + ",".join(f"{c}:{u}" for c, u in _units(units).items()))
    target = heats if heats == "generated" else str(Path(heats).resolve())
    subject = f"heats:{target}" + ("?" + "&".join(params) if params else "")
    request = RunRequest(
        suite=process_data_suite(with_series=series is not None or heats == "generated"),
        subject=subject,
    )
    run_and_report(request, db=db, report_dir=None if no_report else report_dir, quiet=quiet)


@app.command()
def process(
    pipeline: Annotated[Path, typer.Argument(help="Pipeline YAML (input, output, steps).")],
) -> None:
    """Clean, align and resample heat data with a YAML pipeline; prints the funnel."""
    from rich.table import Table

    from pingce.steel.pipeline import run_pipeline

    if not pipeline.is_file():
        raise SpecError(f"pipeline file {pipeline} does not exist")
    stats = run_pipeline(pipeline)
    table = Table(title=f"funnel: {stats['heats_in']} heats read, {stats['heats_out']} written")
    for col in ("step", "heats in", "heats out", "removed", "values changed", "series rows out"):
        table.add_column(col, justify="left" if col == "step" else "right")
    for s in stats["funnel"]:
        rows_out = s["series_rows_out"]
        table.add_row(
            s["step"],
            str(s["heats_in"]),
            str(s["heats_out"]),
            str(s["removed"]),
            str(s["values_changed"]),
            "–" if rows_out is None else str(rows_out),
        )
    out.print(table)
    for note in stats["notes"]:
        out.print(f"note: {note}")
