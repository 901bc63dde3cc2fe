"""`pingce demo` step 80-steel: train two baselines on synthetic heats, score them on later heats."""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

from pingce.core.demo import DemoContext

INTRO = (
    "generates 600 synthetic BOF heats (a simplified mass and heat balance with injected faults "
    "and drift), trains a linear and a gradient-boosting end-point model on the earliest 70 % "
    "of the clean heats, and scores both on the latest 30 % (suite steel/bof-endpoint)."
)


def train_baselines(folder: Path, heats: int = 600, seed: int = 0) -> dict[str, Path]:
    """Pickle a linear and a gradient-boosting model per target, trained on the training
    period of the generated heats the suite uses (rows failing the quality checks dropped)."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression

    from pingce.steel.generator import FEATURES, TARGETS, time_split
    from pingce.steel.heats import generated_heats
    from pingce.steel.process_data import validity

    table = generated_heats(heats, seed)
    valid, _ = validity(table)
    frame = (
        table.frame[valid == 1.0].drop_duplicates("heat_id").dropna(subset=[*FEATURES, *TARGETS])
    )
    train, _test, _first = time_split(frame, 0.3)
    paths = {}
    for name, make in (
        ("linear", LinearRegression),
        ("gbm", lambda: HistGradientBoostingRegressor(max_iter=80, random_state=seed)),
    ):
        models = {t: make().fit(train[list(FEATURES)], train[t]) for t in TARGETS}
        paths[name] = folder / f"{name}.pkl"
        with open(paths[name], "wb") as f:
            pickle.dump(models, f)
    return paths


def run_steel_demo(ctx: DemoContext) -> str:
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    ctx.console.print(f"[bold]steel[/bold]: {INTRO}")
    work = Path(tempfile.mkdtemp(prefix="pingce-steel-demo-"))
    # Tiny models: OpenMP threads only add overhead (and spin on a busy machine).
    with threadpool_limits(limits=1):
        paths = train_baselines(work)
        # The demo wrote these pickles itself a moment ago, so loading them is safe.
        options = {"trust_pickle": True}
        gbm = ctx.run_suite("steel/bof-endpoint", f"pickle:{paths['gbm']}", options)
        ctx.console.print(
            f"gradient-boosting baseline: run {gbm} (its report: pingce report {gbm}); "
            "the linear baseline's report follows"
        )
        return ctx.run_suite("steel/bof-endpoint", f"pickle:{paths['linear']}", options)
