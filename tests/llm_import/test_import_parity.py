"""Imported lm-eval tasks score item by item as lm-eval scores them, on the same local data.

The reference is lm-evaluation-harness itself, run in-process with its `hf` model on real task
YAMLs from its package (boolq and piqa: multiple choice; nq_open: generate_until with
remove_whitespace and exact_match options; pile_arxiv: loglikelihood_rolling). Only the dataset
location of each YAML is rewritten, to a JSON Lines file written here (lm-eval's `json`
builder); everything else is the package's. pingce runs the suite `convert` produced from the
same rewritten YAMLs, never the reverse, so a conversion mistake shows as a disagreement.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pingce.llm.lmeval_import import convert
from pingce.llm.lmeval_import.yaml_files import read_raw

pytestmark = [pytest.mark.lmeval, pytest.mark.slow]
pytest.importorskip("torch", reason="needs torch (pip install pingce[llm])")
pytest.importorskip("transformers", reason="needs transformers (pip install pingce[llm])")
lm_eval = pytest.importorskip("lm_eval", reason="lm-eval (the reference) is not installed")
TASKS = Path(lm_eval.__file__).parent / "tasks"
BATCH = 2
THREADS = 2
TOL = 1e-4

PASSAGE = "The kettle boils at one hundred degrees, and the tea is ready after three minutes"
DATA: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "super_glue/boolq/default.yaml": (
        "validation",
        [
            {"passage": PASSAGE, "question": "does water boil at one hundred degrees", "label": 1},
            {
                "passage": "Spiders have eight legs.",
                "question": "do spiders have six legs",
                "label": 0,
            },
            {"passage": "问题：一年有四个季节。", "question": "is a year four seasons", "label": 1},
            {
                "passage": "The market opens on Saturday.",
                "question": "is it open on monday",
                "label": 0,
            },
        ],
    ),
    "piqa/piqa.yaml": (
        "validation",
        [
            {
                "goal": "Keep bread fresh",
                "sol1": "seal it in a bag",
                "sol2": "leave it in rain",
                "label": 0,
            },
            {
                "goal": "Cool hot soup",
                "sol1": "put it in the oven",
                "sol2": "stir and wait",
                "label": 1,
            },
            {"goal": "煮开水", "sol1": "把水放进冰箱", "sol2": "把水壶放在炉子上", "label": 1},
        ],
    ),
    "nq_open/nq_open.yaml": (
        "validation",
        [
            {"question": "what is 3 plus 4", "answer": ["7", "seven"]},
            {"question": "how many legs does a spider have", "answer": ["eight"]},
            {"question": "一年有几个季节", "answer": ["四个"]},
        ],
    ),
    "pile/pile_arxiv.yaml": (
        "train",
        [
            {"text": "Water moves around our planet in a cycle of rain and rivers."},
            {"text": "问题：一年有几个季节？ 答案：四个。 Computers store numbers as bits."},
        ],
    ),
}


def _rewrite(name: str, folder: Path, cache: Path) -> str:
    """The package's YAML with only its dataset pointed at a local JSON Lines file."""
    split, rows = DATA[name]
    data = folder / (name.replace("/", "_") + ".jsonl")
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    cfg = read_raw(TASKS / name)
    assert "include" not in cfg
    cfg.pop("dataset_name", None)
    cfg["dataset_path"] = "json"
    # Every split the YAML names reads the same file (the runs are zero-shot).
    named = {cfg.get(k) for k in ("training_split", "validation_split", "test_split")}
    files = {s: str(data) for s in named | {split} if s}
    cfg["dataset_kwargs"] = {"data_files": files, "cache_dir": str(cache)}
    (folder / Path(name).name.replace("default", Path(name).parent.name)).write_text(
        yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return str(cfg["task"])


def _run_lmeval(model_dir: Path, folder: Path, tasks: list[str]) -> dict[str, Any]:
    import torch
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(folder), include_defaults=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        results = simple_evaluate(
            model="hf",
            model_args={"pretrained": str(model_dir), "dtype": "float32"},
            tasks=tasks,
            batch_size=BATCH,
            device="cpu",
            log_samples=True,
            task_manager=manager,
            bootstrap_iters=0,
            random_seed=0,
            numpy_random_seed=0,
            torch_random_seed=0,
            fewshot_random_seed=0,
        )
    finally:
        torch.set_num_threads(threads)
    assert results is not None
    return dict(results)


def _run_pingce(model_dir: Path, suite: Path, db: Path) -> dict[str, list[Any]]:
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.store import open_store

    store = open_store(f"sqlite:///{db}")
    try:
        options = {"device": "cpu", "dtype": "float32", "batch_size": BATCH, "threads": THREADS}
        run_id = execute_run(
            store,
            RunRequest(suite=str(suite), subject=f"hf:{model_dir}", options=options),
            show_progress=False,
        )
        by_task: dict[str, list[Any]] = {}
        for rec in store.records(run_id):
            by_task.setdefault(rec.task, []).append(rec)
        for recs in by_task.values():
            recs.sort(key=lambda r: int(r.sample_id))
        return by_task
    finally:
        store.close()


@pytest.fixture(scope="module")
def both(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    work = tmp_path_factory.mktemp("import-parity")
    folder = work / "tasks"
    folder.mkdir()
    names = [_rewrite(name, folder, work / "hf-datasets") for name in DATA]
    result = convert(folder)
    statuses = {r.task: (r.status, r.gaps) for r in result.reports}
    assert {t: s for t, (s, _) in statuses.items()} == dict.fromkeys(names, "converted")
    tasks = [t for suite in result.suites.values() for t in suite["tasks"]]
    suite = work / "suite.yaml"
    suite.write_text(
        yaml.safe_dump({"standard": "llm", "name": "imported", "tasks": tasks}, allow_unicode=True),
        encoding="utf-8",
    )
    lm = _run_lmeval(tiny_model_dir, folder, names)
    pc = _run_pingce(tiny_model_dir, suite, work / "pingce.db")
    return lm, pc


def _samples(lm: dict[str, Any], task: str) -> list[dict[str, Any]]:
    return sorted(lm["samples"][task], key=lambda s: s["doc_id"])


@pytest.mark.parametrize("task", ["boolq", "piqa"])
def test_multiple_choice_parity(both: Any, task: str) -> None:
    lm, pc = both
    samples, records = _samples(lm, task), pc[task]
    assert len(samples) == len(records) > 0
    for sample, rec in zip(samples, records, strict=True):
        ref = [float(r[0][0]) for r in sample["resps"]]
        assert rec.data["loglikelihoods"] == pytest.approx(ref, abs=TOL)
        assert rec.data["gold"] == sample["target"]
        assert "acc" in sample
        for metric in ("acc", "acc_norm"):
            if metric in sample:
                assert float(rec.scores[metric]) == float(sample[metric]), metric


def test_generate_until_parity(both: Any) -> None:
    lm, pc = both
    samples, records = _samples(lm, "nq_open"), pc["nq_open"]
    assert len(samples) == len(records) > 0
    outputs = [r.data["output"] for r in records]
    assert outputs == [s["resps"][0][0] for s in samples]
    assert any(o.strip() for o in outputs), "degenerate run: every generation is empty"
    assert [float(r.scores["exact_match"]) for r in records] == [
        float(s["exact_match"]) for s in samples
    ]


def test_loglikelihood_rolling_parity(both: Any) -> None:
    lm, pc = both
    samples, records = _samples(lm, "pile_arxiv"), pc["pile_arxiv"]
    assert len(samples) == len(records) > 0
    for sample, rec in zip(samples, records, strict=True):
        ll, words = sample["word_perplexity"]
        assert rec.data["logprob"] == pytest.approx(float(ll), abs=TOL)
        assert rec.scores["word_perplexity"][2] == words
        assert rec.scores["byte_perplexity"][3] == sample["byte_perplexity"][1]
