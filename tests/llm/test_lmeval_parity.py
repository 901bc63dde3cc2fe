"""pingce's hf backend agrees with lm-evaluation-harness on the same model and items.

lm-evaluation-harness (lm-eval) is the independent reference here: it is run in-process with
its own `hf` model class, its own task configuration (YAML files loading local JSON Lines
through the `datasets` `json` builder) and its own request construction, and pingce runs the
same items through an equivalent suite. Nothing from pingce is used to compute lm-eval's side.

Both tools are configured identically:

- zero-shot (the tools pick few-shot examples with different random samplers);
- `target_delimiter: " "`, no description, no chat template;
- float32 on the CPU, batch size 4 in both (generation batches are formed the same way in
  both tools, longest prompt first, so the left padding is the same);
- no BOS token: the demo tokenizer defines none and lm-eval's `add_bos_token` is left at
  its default, so both encode with the tokenizer's own special-token behaviour; the prefix
  token for an empty context is EOS in both;
- greedy generation (`do_sample: false`, `temperature: 0`) with `until: ["\\n"]` and 16 new
  tokens; lm-eval's raw `resps` are compared with pingce's unfiltered `output`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = [pytest.mark.lmeval, pytest.mark.slow]

pytest.importorskip("torch", reason="needs torch (pip install pingce[llm])")
pytest.importorskip("transformers", reason="needs transformers (pip install pingce[llm])")
pytest.importorskip(
    "lm_eval", reason="lm-eval (the reference) is not installed: pip install 'pingce[bench]'"
)

BATCH = 4
THREADS = 2
MAX_GEN = 16
TOL = 1e-4
# Two greedy generation tasks over the same prompts: the plain `until: ["\\n"]` (which the
# barely trained demo model never emits, so every row runs to the token budget) and stop
# strings it does produce, some spanning a token boundary, so truncation is compared too.
GEN_TASKS: dict[str, list[str]] = {
    "gen": ["\n"],
    "gen_stop": ["\n", "e t", "： 1", ".."],
}

# Original items. Choices differ in length (characters and tokens) so acc and acc_norm can
# disagree; one context ends in a space (its whitespace moves into the continuation); some
# items are Chinese, one mixes scripts, one choice is a single character, one item repeats a
# choice.
MC_ITEMS: list[dict[str, Any]] = [
    {
        "question": "Question: Which season comes after winter?\nAnswer:",
        "choices": ["spring", "autumn", "the hottest part of summer", "no season at all"],
        "answer": 0,
    },
    {
        "question": "Question: How many legs does a spider have?\nAnswer:",
        "choices": ["8", "six", "four legs and two arms", "10"],
        "answer": 0,
    },
    {
        "question": "The water in a kettle boils when it reaches ",
        "choices": ["100 degrees", "ten", "the temperature of ice", "a cold morning"],
        "answer": 0,
    },
    {
        "question": "问题：一年有几个季节？\n答案：",
        "choices": ["四个", "两个季节", "十二个月份", "七"],
        "answer": 0,
    },
    {
        "question": "问题：太阳从哪个方向升起？\n答案：",
        "choices": ["东方", "西方", "从北边的山后面", "南"],
        "answer": 0,
    },
    {
        "question": "Rain falls from clouds because the droplets",
        "choices": [
            "grow heavy enough",
            "are dry",
            "turn into bread at the market",
            "sing",
        ],
        "answer": 0,
    },
    {
        "question": "Question: A byte has how many bits?\nAnswer:",
        "choices": ["8", "256", "one", "a long pattern of ones and zeros"],
        "answer": 0,
    },
    {
        "question": "问题：水在零度以下会变成什么？\n答案：",
        "choices": ["冰", "水蒸气", "一条很长的河流", "面包"],
        "answer": 0,
    },
    {
        "question": "Tomatoes at the Saturday market cost",
        "choices": ["3 dollars a kilogram", "nothing", "4", "more than a house"],
        "answer": 0,
    },
    {
        "question": "A good morning routine helps the body feel",
        "choices": ["awake", "tired and heavy all day long", "blue", "like a computer"],
        "answer": 0,
    },
    {
        "question": "问题：Which word means 学校 in English?\n答案：",
        "choices": ["school", "river", "a very large hospital", "雨"],
        "answer": 0,
    },
    {
        # Two identical choices: both tools must tie exactly and pick the first.
        "question": "Question: Which number is even?\nAnswer:",
        "choices": ["4", "seven", "4", "nine"],
        "answer": 0,
    },
    {
        "question": "Clouds form when warm, moist air rises and",
        "choices": ["cools", "stays warm forever", "turns into stone", "a"],
        "answer": 0,
    },
]

GEN_ITEMS: list[dict[str, Any]] = [
    {"prompt": "Water moves around our planet in", "answer": "a cycle"},
    {"prompt": "Question: What is 3 plus 4?\nAnswer:", "answer": "7"},
    {"prompt": "问题：一年有几个季节？\n答案：", "answer": "四个"},
    {"prompt": "A good morning routine does not need to be", "answer": "complicated"},
    {"prompt": "Computers store every number as", "answer": "bits"},
    {"prompt": "At the Saturday market the prices are written on", "answer": "chalkboards"},
]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text(
        "".join(
            json.dumps({"id": str(i), **r}, ensure_ascii=False) + "\n" for i, r in enumerate(rows)
        ),
        encoding="utf-8",
    )


def _lmeval_tasks(folder: Path, mc_data: Path, gen_data: Path) -> None:
    """lm-eval task YAMLs over the local JSON Lines files (the `json` datasets builder); the
    datasets cache stays in the test's temporary folder."""
    cache_dir = str(folder.parent / "hf-datasets")

    def common(name: str, data: Path) -> dict[str, Any]:
        return {
            "task": f"pingce_parity_{name}",
            "dataset_path": "json",
            "dataset_kwargs": {"data_files": {"test": str(data)}, "cache_dir": cache_dir},
            "test_split": "test",
            "target_delimiter": " ",
            "num_fewshot": 0,
        }

    mean = {"aggregation": "mean", "higher_is_better": True}
    configs = {
        "mc": {
            **common("mc", mc_data),
            "output_type": "multiple_choice",
            "doc_to_text": "{{question}}",
            "doc_to_choice": "{{choices}}",
            "doc_to_target": "answer",
            "metric_list": [{"metric": "acc", **mean}, {"metric": "acc_norm", **mean}],
        }
    }
    for name, until in GEN_TASKS.items():
        configs[name] = {
            **common(name, gen_data),
            "output_type": "generate_until",
            "doc_to_text": "{{prompt}}",
            "doc_to_target": "answer",
            "generation_kwargs": {
                "until": until,
                "do_sample": False,
                "temperature": 0.0,
                "max_gen_toks": MAX_GEN,
            },
            "metric_list": [{"metric": "exact_match", **mean}],
        }
    for name, config in configs.items():
        (folder / f"parity_{name}.yaml").write_text(
            yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )


def _pingce_suite(path: Path) -> None:
    """The equivalent pingce suite (same prompts, delimiter, stops and token budget)."""
    tasks: list[dict[str, Any]] = [
        {
            "id": "mc",
            "type": "multiple_choice",
            "dataset": {"path": "mc.jsonl"},
            "prompt": "{{ question }}",
            "choices": "choices",
            "target": "answer",
            "target_delimiter": " ",
            "num_fewshot": 0,
            "metrics": ["acc", "acc_norm"],
        }
    ]
    for name, until in GEN_TASKS.items():
        tasks.append(
            {
                "id": name,
                "type": "generative",
                "dataset": {"path": "gen.jsonl"},
                "prompt": "{{ prompt }}",
                "target": "answer",
                "generation": {"max_new_tokens": MAX_GEN, "until": until},
                "filters": [],  # compare raw generations
                "metrics": ["exact_match"],
            }
        )
    suite = {"standard": "llm", "name": "lmeval-parity", "tasks": tasks}
    path.write_text(yaml.safe_dump(suite, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _run_lmeval(model_dir: Path, task_dir: Path) -> dict[str, Any]:
    import torch
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    # include_defaults=False: index only these YAMLs, not lm-eval's thousands of tasks.
    manager = TaskManager(include_path=str(task_dir), include_defaults=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)  # as pingce's --threads does for its side
    try:
        results = simple_evaluate(
            model="hf",
            model_args={"pretrained": str(model_dir), "dtype": "float32"},
            tasks=[f"pingce_parity_{name}" for name in ("mc", *GEN_TASKS)],
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
        run_id = execute_run(
            store,
            RunRequest(
                suite=str(suite),
                subject=f"hf:{model_dir}",
                options={
                    "device": "cpu",
                    "dtype": "float32",
                    "batch_size": BATCH,
                    "threads": THREADS,
                    "seed": 1234,
                },
            ),
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
def both_runs(
    tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    # (conftest's autouse fixture sets HF_HUB_OFFLINE / HF_DATASETS_OFFLINE: nothing is fetched)
    work = tmp_path_factory.mktemp("lmeval-parity")
    _write_jsonl(work / "mc.jsonl", MC_ITEMS)
    _write_jsonl(work / "gen.jsonl", GEN_ITEMS)
    task_dir = work / "lmeval_tasks"
    task_dir.mkdir()
    _lmeval_tasks(task_dir, work / "mc.jsonl", work / "gen.jsonl")
    _pingce_suite(work / "suite.yaml")
    lm = _run_lmeval(tiny_model_dir, task_dir)
    pc = _run_pingce(tiny_model_dir, work / "suite.yaml", work / "pingce.db")
    return lm, pc


def _samples(lm: dict[str, Any], task: str) -> list[dict[str, Any]]:
    samples = sorted(lm["samples"][task], key=lambda s: s["doc_id"])
    assert [s["doc_id"] for s in samples] == list(range(len(samples)))
    return samples


def test_multiple_choice_loglikelihoods_match(both_runs: Any) -> None:
    lm, pc = both_runs
    samples = _samples(lm, "pingce_parity_mc")
    records = pc["mc"]
    assert len(samples) == len(records) == len(MC_ITEMS)
    for sample, rec in zip(samples, records, strict=True):
        # resps: one [(loglikelihood, is_greedy)] per choice; filtered_resps: the same, flat.
        ref = [float(r[0][0]) for r in sample["resps"]]
        ref_filtered = [float(r[0]) for r in sample["filtered_resps"]]
        assert ref == pytest.approx(ref_filtered, abs=0.0)
        got = rec.data["loglikelihoods"]
        assert got == pytest.approx(ref, abs=TOL), f"sample {sample['doc_id']}"
        assert rec.data["is_greedy"] == [bool(r[0][1]) for r in sample["resps"]]
        assert rec.data["gold"] == sample["target"]
        choices = MC_ITEMS[sample["doc_id"]]["choices"]
        for j, choice in enumerate(choices):
            first = choices.index(choice)  # a repeated choice ties exactly with its first copy
            assert got[j] == got[first] and ref[j] == ref[first]


def test_multiple_choice_accuracy_matches(both_runs: Any) -> None:
    lm, pc = both_runs
    samples = _samples(lm, "pingce_parity_mc")
    records = pc["mc"]
    for metric in ("acc", "acc_norm"):
        ref = [float(s[metric]) for s in samples]
        got = [float(r.scores[metric]) for r in records]
        assert got == ref, metric
        agg = lm["results"]["pingce_parity_mc"][f"{metric},none"]
        assert sum(got) / len(got) == pytest.approx(agg, abs=1e-12)


@pytest.mark.parametrize("task", list(GEN_TASKS))
def test_greedy_generations_match(both_runs: Any, task: str) -> None:
    lm, pc = both_runs
    samples = _samples(lm, f"pingce_parity_{task}")
    records = pc[task]
    assert len(samples) == len(records) == len(GEN_ITEMS)
    # resps[0][0] is lm-eval's raw generation (already cut at the first stop string).
    ref = [s["resps"][0][0] for s in samples]
    got = [r.data["output"] for r in records]
    assert got == ref
    assert any(text.strip() for text in ref), "degenerate run: every generation is empty"
    if task == "gen_stop":
        # The stop strings really fired: some generations end before the token budget.
        assert any(r.data["finish_reason"] == "stop" for r in records)


def test_repeated_cache_path_matches_lmeval(both_runs: Any, tiny_model_dir: Path) -> None:
    """The fallback continuation pass (the context cache repeated once per continuation, used
    where a model cannot take packed continuations) agrees with lm-eval too."""
    from pingce.backends.hf import HFCausalLM

    lm, _ = both_runs
    samples = _samples(lm, "pingce_parity_mc")
    pairs = [tuple(arg) for s in samples for arg in s["arguments"]]
    ref = [float(r[0][0]) for s in samples for r in s["resps"]]
    model = HFCausalLM(
        str(tiny_model_dir), device="cpu", dtype="float32", batch_size=BATCH, threads=THREADS
    )
    model._packed = False  # never try packing
    got = [r.logprob for r in model.loglikelihood(pairs)]
    assert got == pytest.approx(ref, abs=TOL)
