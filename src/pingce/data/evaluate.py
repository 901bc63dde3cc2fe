"""Grading a dataset: the built-in data/pretrain or data/sft suite run on it through the shared
run pipeline (what `pingce data evaluate` and the demo do)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pingce.core.errors import SpecError
from pingce.data.funnel import read_funnel
from pingce.data.quality.topics import DEFAULT_TOPICS

if TYPE_CHECKING:
    from pingce.core.spec import Suite

PROFILES = ("pretrain", "sft")
# Subject schemes: `data:` guesses the format from the name.
FORMATS = {
    "data": "auto",
    "jsonl": "jsonl",
    "parquet": "parquet",
    "csv": "csv",
    "tsv": "tsv",
    "text": "text",
    "hf": "hf",
}


def dataset_subject(dataset: str) -> str:
    """A subject spec for a dataset argument: `FORMAT:PATH` as given, a bare path as `data:PATH`."""
    scheme, sep, _ = dataset.partition(":")
    return dataset if sep and scheme in FORMATS and len(scheme) > 1 else f"data:{dataset}"


def evaluation_options(
    *,
    profile: str = "pretrain",
    sample: int | None = None,
    seed: int = 1234,
    target: dict[str, float] | None = None,
    strict: bool = False,
    funnel: dict[str, Any] | None = None,
    fields: dict[str, str | None] | None = None,
    workers: int = 1,
    demo: bool = False,
) -> dict[str, Any]:
    """The run options of a dataset evaluation."""
    options: dict[str, Any] = {
        "profile": profile,
        "sample": sample,
        "seed": seed,
        "target": target,
        "strict": strict,
        "funnel": funnel,
    }
    if workers > 1:  # an execution setting: the records and numbers do not depend on it
        options["workers"] = workers
    options.update({k: v for k, v in (fields or {}).items() if v is not None})
    if demo:
        options["demo_data"] = True
    return options


def evaluation_suite(profile: str, target: dict[str, float] | None, topics: int) -> str | Suite:
    """The built-in suite `data/PROFILE` (a name), or that suite with the task's target shares
    and topic count set (a suite built from it) when they differ from its defaults."""
    from pingce.core.spec import load_suite, suite_from_dict

    name = f"data/{profile}"
    if target is None and topics == DEFAULT_TOPICS:
        return name
    suite = load_suite(name)
    data = suite.spec.model_dump(mode="json")
    task = data["tasks"][0]
    if target is not None:
        task["target"] = target
    task["topics"] = topics
    return suite_from_dict(data, f"{suite.source} (pingce data evaluate)", Path.cwd())


def check_evaluation(profile: str, sample: int | None, topics: int, workers: int) -> None:
    """The checks of `data evaluate`'s options (before anything is read or created)."""
    if profile not in PROFILES:
        raise SpecError(f"--profile must be pretrain or sft, got {profile!r}")
    if sample is not None and sample < 1:
        raise SpecError(f"--sample must be at least 1, got {sample}")
    if not 2 <= topics <= 100:
        raise SpecError(f"--topics must be between 2 and 100, got {topics}")
    if workers < 1:
        raise SpecError(f"--workers must be at least 1, got {workers}")


def evaluate_dataset(
    store: Any,
    dataset: str,
    *,
    profile: str = "pretrain",
    sample: int | None = None,
    seed: int = 1234,
    target: dict[str, float] | None = None,
    stats: Path | None = None,
    strict: bool = False,
    fields: dict[str, str | None] | None = None,
    show_progress: bool = True,
    demo: bool = False,
    check: Any = None,
    topics: int = DEFAULT_TOPICS,
    workers: int = 1,
) -> str:
    """Run the data-quality suite on a dataset through the shared run pipeline; returns the run id.

    A processed folder's stats.json (or `stats`) is stored with the run as its funnel; `check`
    runs after the arguments are checked and before the run starts (e.g. the report folder).
    """
    from pingce.core.run import RunRequest, execute_run

    check_evaluation(profile, sample, topics, workers)
    subject = dataset_subject(dataset)
    path = Path(subject.split(":", 1)[1].split("?", 1)[0])
    if stats is None and path.is_dir() and (path / "stats.json").is_file():
        stats = path / "stats.json"
    funnel = read_funnel(stats) if stats else None
    if check:
        check()
    options = evaluation_options(
        profile=profile,
        sample=sample,
        seed=seed,
        target=target,
        strict=strict,
        funnel=funnel,
        fields=fields,
        workers=workers,
        demo=demo,
    )
    request = RunRequest(
        suite=evaluation_suite(profile, target, topics), subject=subject, options=options
    )
    return execute_run(store, request, show_progress=show_progress)
