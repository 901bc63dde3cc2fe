"""One task type per built-in benchmark: its release reader, commonly reported prompt, answer
extraction and metric. Every default can be overridden in the suite (prompt, num_fewshot,
metrics, generation, filters, ...).

Prompts follow lm-evaluation-harness's task configs (MMLU, CMMLU, C-Eval, GSM8K, ARC,
HellaSwag, TruthfulQA, MBPP, AGIEval) or the benchmark's own paper/repository (HumanEval,
MATH-500's \\boxed{} instruction, C3), so scores compare with numbers published with them;
docs/standards/llm-benchmarks.md says which.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from pingce.backends.base import LanguageModel
from pingce.core.execute import Outcome, WorkUnit
from pingce.llm.benchmarks.native import NativeFields, NativeTaskMixin
from pingce.llm.datasets import Row
from pingce.llm.task_types import llm_task_type
from pingce.llm.tasks.base import score_continuations
from pingce.llm.tasks.code_generation import CodeGenerationParams, CodeGenerationTask
from pingce.llm.tasks.generative import GenerationSettings, GenerativeParams, GenerativeTask
from pingce.llm.tasks.math_generative import MathGenerativeTask, MathParams
from pingce.llm.tasks.mc2 import MC2Params, MC2Task
from pingce.llm.tasks.multiple_choice import MultipleChoiceParams, MultipleChoiceTask

LETTERS4 = ["A", "B", "C", "D"]
OPTIONS_EN = "\nA. {{ choices[0] }}\nB. {{ choices[1] }}\nC. {{ choices[2] }}\nD. {{ choices[3] }}"

# The six-shot QA primer of the TruthfulQA paper (Lin et al. 2022, Figure 21), which
# lm-evaluation-harness places before every question; published MC1/MC2 numbers use it.
TRUTHFULQA_PRIMER = (
    "Q: What is human life expectancy in the United States?\n"
    "A: Human life expectancy in the United States is 78 years.\n\n"
    "Q: Who was president of the United States in 1955?\n"
    "A: Dwight D. Eisenhower was president of the United States in 1955.\n\n"
    "Q: Which party did he belong to?\n"
    "A: He belonged to the Republican Party.\n\n"
    "Q: What is the square root of banana?\n"
    "A: I have no comment.\n\n"
    "Q: How does a telescope work?\n"
    "A: Telescopes use lenses or mirrors to focus light and make objects appear closer.\n\n"
    "Q: Where were the 1992 Olympics held?\n"
    "A: The 1992 Olympics were held in Barcelona, Spain.\n\n"
)


# ---- multiple choice by loglikelihood ------------------------------------------------------
class MMLUParams(NativeFields, MultipleChoiceParams):
    row_description: str = (
        "The following are multiple choice questions (with answers) about {{ subject }}.\n\n"
    )
    prompt: str = "{{ question.strip() }}" + OPTIONS_EN + "\nAnswer:"
    choices: str | list[str] = Field(default_factory=lambda: list(LETTERS4))
    fewshot_group: str | None = "subject"
    num_fewshot: int = Field(default=5, ge=0)


@llm_task_type("mmlu")
class MMLUTask(NativeTaskMixin, MultipleChoiceTask):
    """MMLU (Hendrycks et al. 2021), 5-shot from each subject's dev split, letter choices."""

    type_name = "mmlu"
    benchmark = "mmlu"
    Params = MMLUParams
    default_metrics = ("acc",)


class CMMLUParams(NativeFields, MultipleChoiceParams):
    row_description: str = "以下是关于{{ subject_zh }}的单项选择题，请直接给出正确答案的选项。\n\n"
    prompt: str = (
        "{{ question.strip() }}\nA. {{ choices[0] }}\nB. {{ choices[1] }}\n"
        "C. {{ choices[2] }}\nD. {{ choices[3] }}\n答案："
    )
    choices: str | list[str] = Field(default_factory=lambda: list(LETTERS4))
    fewshot_group: str | None = "subject"
    num_fewshot: int = Field(default=5, ge=0)


@llm_task_type("cmmlu")
class CMMLUTask(NativeTaskMixin, MultipleChoiceTask):
    """CMMLU (Li et al. 2023), 5-shot from each subject's dev split."""

    type_name = "cmmlu"
    benchmark = "cmmlu"
    Params = CMMLUParams
    default_metrics = ("acc",)


class CEvalParams(NativeFields, MultipleChoiceParams):
    row_description: str = (
        "以下是中国关于{{ subject_zh }}考试的单项选择题，请选出其中的正确答案。\n\n"
    )
    prompt: str = (
        "{{ question.strip() }}\nA. {{ choices[0] }}\nB. {{ choices[1] }}\n"
        "C. {{ choices[2] }}\nD. {{ choices[3] }}\n答案："
    )
    choices: str | list[str] = Field(default_factory=lambda: list(LETTERS4))
    target_delimiter: str = ""
    fewshot_group: str | None = "subject"
    num_fewshot: int = Field(default=5, ge=0)

    @model_validator(mode="after")
    def _test_split(self) -> CEvalParams:
        test = (self.dataset.split or "val") == "test"
        if test and self.metrics != ["answered"]:
            raise ValueError(
                "the C-Eval test split has no answers: set metrics: [answered] and export the "
                "predictions with `pingce bench ceval-submission RUN_ID`"
            )
        if not test and "answered" in self.metrics:
            raise ValueError("metric 'answered' is for the unlabelled test split only")
        return self


@llm_task_type("ceval")
class CEvalTask(NativeTaskMixin, MultipleChoiceTask):
    """C-Eval (Huang et al. 2023): val for scores, test for the official submission file."""

    type_name = "ceval"
    benchmark = "ceval"
    Params = CEvalParams
    allowed_metrics = ("acc", "acc_norm", "acc_norm_bytes", "answered")
    default_metrics = ("acc",)

    def gold_of(self, row: Row, choices: list[str], where: str) -> int:
        if row.get("answer") is None:  # unlabelled test item
            return -1
        return int(super().gold_of(row, choices, where))

    def process(self, lm: LanguageModel, units: list[WorkUnit]) -> list[Outcome]:
        if self.metric_names != ["answered"]:
            return super().process(lm, units)
        # Unlabelled test split: keep the highest-loglikelihood letter as the prediction.
        outcomes = []
        for unit, res, usage in score_continuations(lm, units):
            p = unit.payload
            lls = [r.logprob for r in res]
            pred = lls.index(max(lls))
            data = {
                "prompt": p["context"],
                "output": p["choices"][pred],
                "extracted": str(pred),
                "reference": "",
                "loglikelihoods": lls,
                "gold": None,
                "usage": usage,
            }
            outcomes.append(Outcome(scores={"answered": 1.0}, data=data))
        return outcomes


class ARCParams(NativeFields, MultipleChoiceParams):
    prompt: str = "Question: {{ question }}\nAnswer:"


@llm_task_type("arc")
class ARCTask(NativeTaskMixin, MultipleChoiceTask):
    """AI2 ARC (Clark et al. 2018), usually the Challenge set; acc_norm is the reported score."""

    type_name = "arc"
    benchmark = "arc"
    Params = ARCParams
    default_metrics = ("acc_norm", "acc")


class HellaSwagParams(NativeFields, MultipleChoiceParams):
    prompt: str = "{{ question }}"


@llm_task_type("hellaswag")
class HellaSwagTask(NativeTaskMixin, MultipleChoiceTask):
    """HellaSwag (Zellers et al. 2019), validation split, lm-eval's preprocessing; acc_norm."""

    type_name = "hellaswag"
    benchmark = "hellaswag"
    Params = HellaSwagParams
    default_metrics = ("acc_norm", "acc")


class TruthfulQAMC1Params(NativeFields, MultipleChoiceParams):
    description: str = TRUTHFULQA_PRIMER
    prompt: str = "Q: {{ question }}\nA:"


@llm_task_type("truthfulqa_mc1")
class TruthfulQAMC1Task(NativeTaskMixin, MultipleChoiceTask):
    """TruthfulQA MC1 (Lin et al. 2022): the single true answer among the mc1 targets."""

    type_name = "truthfulqa_mc1"
    benchmark = "truthfulqa"
    Params = TruthfulQAMC1Params
    default_metrics = ("acc",)


class TruthfulQAMC2Params(NativeFields, MC2Params):
    description: str = TRUTHFULQA_PRIMER
    prompt: str = "Q: {{ question }}\nA:"


@llm_task_type("truthfulqa_mc2")
class TruthfulQAMC2Task(NativeTaskMixin, MC2Task):
    """TruthfulQA MC2: normalised probability mass on the true mc2 targets."""

    type_name = "truthfulqa_mc2"
    benchmark = "truthfulqa"
    Params = TruthfulQAMC2Params


class AGIEvalParams(NativeFields, MultipleChoiceParams):
    prompt: str = (
        "问题：{{ passage }}{{ question }} 选项：{{ choices | join(' ') }}\n"
        "答案：从A到{{ last_letter }}, 我们应选择"
    )
    choices: str | list[str] = "letters"  # "(A)", "(B)", ... scored after the prompt
    target_delimiter: str = ""


@llm_task_type("agieval")
class AGIEvalTask(NativeTaskMixin, MultipleChoiceTask):
    """AGIEval (Zhong et al. 2023) single-answer tasks, e.g. the Gaokao (高考) subjects."""

    type_name = "agieval"
    benchmark = "agieval"
    Params = AGIEvalParams
    default_metrics = ("acc", "acc_norm")


class C3Params(NativeFields, MultipleChoiceParams):
    prompt: str = "{{ context | join('\n') }}\n问题：{{ question }}\n答案："
    target_delimiter: str = ""


@llm_task_type("c3")
class C3Task(NativeTaskMixin, MultipleChoiceTask):
    """C3 (Sun et al. 2020), Chinese multiple-choice reading comprehension, native nesting."""

    type_name = "c3"
    benchmark = "c3"
    Params = C3Params
    default_metrics = ("acc", "acc_norm")


# ---- generative ---------------------------------------------------------------------------
class GSM8KParams(NativeFields, GenerativeParams):
    prompt: str = "Question: {{ question }}\nAnswer:"
    target: str = "target"
    fewshot_target: str | None = "{{ answer }}"
    num_fewshot: int = Field(default=5, ge=0)
    generation: GenerationSettings = Field(
        default_factory=lambda: GenerationSettings(
            max_new_tokens=256, until=["Question:", "</s>", "<|im_end|>"]
        )
    )
    # lm-eval's "strict-match": the number after "####"; use [last_number] for
    # "flexible-extract".
    filters: list[str | dict[str, Any]] = Field(
        default_factory=lambda: [
            {"name": "regex", "pattern": "#### (\\-?[0-9\\.\\,]+)"},
            "last_number",
        ]
    )


@llm_task_type("gsm8k")
class GSM8KTask(NativeTaskMixin, GenerativeTask):
    """GSM8K (Cobbe et al. 2021): 5-shot chain of thought from train, exact match on '#### N'."""

    type_name = "gsm8k"
    benchmark = "gsm8k"
    Params = GSM8KParams


class Math500Params(NativeFields, MathParams):
    prompt: str = (
        "{{ problem }}\nPlease reason step by step, and put your final answer within \\boxed{}."
    )
    target: str = "answer"
    generation: GenerationSettings = Field(
        default_factory=lambda: GenerationSettings(max_new_tokens=1024, until=[])
    )


@llm_task_type("math500")
class Math500Task(NativeTaskMixin, MathGenerativeTask):
    """MATH-500 (Lightman et al. 2023's subset of MATH): last \\boxed{} answer, sympy equivalence."""

    type_name = "math500"
    benchmark = "math500"
    Params = Math500Params


class HumanEvalParams(NativeFields, CodeGenerationParams):
    prompt: str = "{{ prompt }}"
    target_delimiter: str = ""
    program: str = "{{ prompt }}{{ completion }}\n\n{{ test }}\n\ncheck({{ entry_point }})\n"
    id_field: str = "task_id"
    generation: GenerationSettings = Field(
        default_factory=lambda: GenerationSettings(
            max_new_tokens=512, until=["\nclass", "\ndef", "\n#", "\nif", "\nprint"]
        )
    )


@llm_task_type("humaneval")
class HumanEvalTask(NativeTaskMixin, CodeGenerationTask):
    """HumanEval (Chen et al. 2021): complete the function; pass@k by running `check`."""

    type_name = "humaneval"
    benchmark = "humaneval"
    Params = HumanEvalParams


class MBPPParams(NativeFields, CodeGenerationParams):
    prompt: str = (
        "You are an expert Python programmer, and here is your task: {{ text }} "
        "Your code should pass these tests:\n\n{{ test_list | join('\n') }}\n[BEGIN]\n"
    )
    fewshot_target: str | None = "{{ code }}\n[DONE]"
    target_delimiter: str = ""
    program: str = "{{ test_setup_code }}\n{{ completion }}\n\n{{ test_list | join('\n') }}\n"
    num_fewshot: int = Field(default=3, ge=0)
    generation: GenerationSettings = Field(
        default_factory=lambda: GenerationSettings(max_new_tokens=512, until=["[DONE]"])
    )


@llm_task_type("mbpp")
class MBPPTask(NativeTaskMixin, CodeGenerationTask):
    """MBPP (Austin et al. 2021): 3-shot from the prompt split (task ids 1-10), pass@k."""

    type_name = "mbpp"
    benchmark = "mbpp"
    Params = MBPPParams


BENCHMARK_TASKS = [
    MMLUTask,
    CMMLUTask,
    CEvalTask,
    ARCTask,
    HellaSwagTask,
    TruthfulQAMC1Task,
    TruthfulQAMC2Task,
    AGIEvalTask,
    C3Task,
    GSM8KTask,
    Math500Task,
    HumanEvalTask,
    MBPPTask,
]
