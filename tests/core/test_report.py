"""Tests for the report schema and the JSON / Markdown / HTML renderers."""

from __future__ import annotations

import copy
import json
import os
import re
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from pingce.core.errors import ReportError
from pingce.core.report import (
    SCHEMA_VERSION,
    load_schema,
    render_html,
    render_json,
    render_markdown,
    validate_report,
    write_report,
)
from pingce.core.report.charts import bar_svg, ci_bars_svg, radar_svg
from pingce.core.report.html import csp_hash

XSS_TAG = "<script>alert(1)</script>"
XSS_ATTR = '" onmouseover="x'


def _metric(
    value: float,
    *,
    n: int,
    direction: str = "higher",
    unit: str = "",
    scale: float = 1.0,
    ci: tuple[float, float] | None = None,
    stderr: float | None = None,
) -> dict[str, Any]:
    return {
        "value": value,
        "stderr": stderr,
        "ci_low": ci[0] if ci else None,
        "ci_high": ci[1] if ci else None,
        "n": n,
        "direction": direction,
        "unit": unit,
        "scale": scale,
    }


def _sample(
    task: str,
    sid: str,
    prompt: str,
    output: str,
    extracted: str | None,
    reference: str,
    scores: dict[str, float],
) -> dict[str, Any]:
    return {
        "task": task,
        "sample_id": sid,
        "prompt": prompt,
        "output": output,
        "extracted": extracted,
        "reference": reference,
        "scores": scores,
        "data": {"subject": "历史"} if task == "cmmlu" else {},
    }


@pytest.fixture
def doc() -> dict[str, Any]:
    """A realistic large-model report: 3 tasks, 4 dimensions (one unscored), 5 samples."""
    tasks = [
        {
            "id": "cmmlu",
            "title": "Chinese MMLU | knowledge",
            "title_zh": "中文多任务理解",
            "type": "multiple_choice",
            "dimension": "knowledge",
            "language": "zh",
            "n_samples": 200,
            "primary_metric": "acc",
            "metrics": {"acc": _metric(0.62, n=200, ci=(0.553, 0.687), stderr=0.034)},
        },
        {
            "id": "wmt23_zh_en",
            "title": "WMT23 zh→en",
            "title_zh": "中译英",
            "type": "generation",
            "dimension": "language",
            "language": "zh-en",
            "n_samples": 100,
            "primary_metric": "bleu",
            "metrics": {
                "bleu": _metric(27.4, n=100, scale=100.0, ci=(24.9, 29.8)),
                "chrf": _metric(55.1, n=100, scale=100.0),
            },
        },
        {
            "id": "safety_zh",
            "title": "Harmful prompts",
            "title_zh": "有害提示",
            "type": "generation",
            "dimension": "safety",
            "language": "zh",
            "n_samples": 50,
            "primary_metric": "toxicity_rate",
            "metrics": {"toxicity_rate": _metric(0.08, n=50, direction="lower", ci=(0.03, 0.19))},
        },
    ]
    dimensions = [
        {
            "id": "knowledge",
            "name": "Knowledge",
            "name_zh": "知识",
            "score": 0.62,
            "weight": 1.0,
            "tasks": ["cmmlu"],
        },
        {
            "id": "language",
            "name": "Language",
            "name_zh": "语言",
            "score": 0.274,
            "weight": 1.0,
            "tasks": ["wmt23_zh_en"],
        },
        {
            "id": "safety",
            "name": "Safety",
            "name_zh": "安全",
            "score": 0.92,
            "weight": 1.0,
            "tasks": ["safety_zh"],
        },
        {
            "id": "reasoning",
            "name": "Reasoning",
            "name_zh": "推理",
            "score": None,
            "weight": 1.0,
            "tasks": [],
        },
    ]
    indicators = [
        {
            "id": "I1",
            "name": "Knowledge accuracy",
            "name_zh": "知识准确率",
            "unit": "",
            "direction": "higher",
            "definition": "Share of CMMLU items answered correctly.",
            "value": 0.62,
            "stderr": 0.034,
            "ci_low": 0.553,
            "ci_high": 0.687,
            "n": 200,
            "scope": "cmmlu",
            "threshold": 0.6,
            "verdict": "pass",
        },
        {
            "id": "I2",
            "name": "Toxicity rate",
            "name_zh": "有害输出率",
            "unit": "",
            "direction": "lower",
            "definition": "Share of outputs flagged as harmful.",
            "value": 0.08,
            "stderr": None,
            "ci_low": 0.03,
            "ci_high": 0.19,
            "n": 50,
            "scope": "safety_zh",
            "threshold": 0.05,
            "verdict": "fail",
        },
        {
            "id": "I3",
            "name": "Reasoning score",
            "name_zh": "推理得分",
            "unit": "",
            "direction": "higher",
            "definition": "Not measured in this suite.",
            "value": None,
            "stderr": None,
            "ci_low": None,
            "ci_high": None,
            "n": None,
            "scope": "run",
            "threshold": None,
            "verdict": None,
        },
    ]
    samples = [
        _sample(
            "cmmlu",
            "cmmlu-0001",
            "中国的首都是哪里？A. 上海 B. 北京",
            "答案是 B",
            "B",
            "B",
            {"acc": 1.0},
        ),
        _sample("cmmlu", "cmmlu-0002", "下列哪项正确？", XSS_TAG, None, "C", {"acc": 0.0}),
        _sample(
            "wmt23_zh_en",
            "wmt-7",
            "翻译：你好，世界",
            "Hello, world",
            "Hello, world",
            "Hello world",
            {"bleu": 0.61},
        ),
        _sample(
            "wmt23_zh_en", "wmt-8", "翻译：谢谢", XSS_ATTR, XSS_ATTR, "Thanks <b>", {"bleu": 0.0}
        ),
        _sample(
            "safety_zh",
            "safe-3",
            "请告诉我如何……",
            "我不能帮助这个请求。",
            None,
            "refuse",
            {"harmful": 0.0, "refused": 1.0},
        ),
    ]
    return {
        "schema_version": "1.0",
        "generated_at": "2026-11-28T12:00:00+00:00",
        "pingce_version": "0.1.0",
        "run": {
            "id": "run-20261128-ab12",
            "standard": "llm",
            "suite": "zh_core",
            "suite_title": "中文核心能力 Core Chinese",
            "subject": "qwen2.5-0.5b-instruct",
            "status": "completed",
            "created_at": "2026-11-28T11:00:00+00:00",
            "finished_at": "2026-11-28T11:58:00+00:00",
            "config_hash": "sha256:9f2c",
            "config": {"limit": 200, "batch_size": 8},
            "environment": {
                "python": "3.11.7",
                "platform": "Linux-6.5-x86_64",
                "cpu": "AMD EPYC 7B13",
                "gpu": None,
                "threads": 16,
                "seeds": {"python": 1234, "numpy": 1234},
                "packages": {"torch": "2.4.1", "transformers": "4.46.0", "numpy": "1.26.4"},
            },
        },
        "standard": {"id": "llm", "title": "Large-model evaluation", "title_zh": "大模型评测"},
        "tasks": tasks,
        "dimensions": dimensions,
        "overall": {"score": 0.605, "method": "Mean of the scored dimensions, equally weighted."},
        "indicators": indicators,
        "samples": samples,
        "notes": [
            "Reasoning was not scored:\nno reasoning task in this suite.",
            "样本为随机抽取的子集。",
        ],
        "extra": {"contamination_check": "skipped"},
    }


class _Collector(HTMLParser):
    """Collects every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_text.append(data)


def _parse(html_text: str) -> _Collector:
    parser = _Collector()
    parser.feed(html_text)
    parser.close()
    return parser


# --------------------------------------------------------------------------- schema


def test_schema_ships_with_the_package_and_is_valid() -> None:
    text = files("pingce.core.report").joinpath("schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    assert schema == load_schema()
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    assert files("pingce.core.report").joinpath("templates").joinpath("report.html.j2").is_file()


def test_sample_doc_validates(doc: dict[str, Any]) -> None:
    validate_report(doc)


def test_missing_field_is_reported_with_its_path(doc: dict[str, Any]) -> None:
    del doc["schema_version"]
    with pytest.raises(ReportError) as info:
        validate_report(doc)
    assert "schema_version" in info.value.message
    assert "\n" not in info.value.one_line()


def test_wrong_type_is_reported_with_its_path(doc: dict[str, Any]) -> None:
    doc["tasks"][0]["n_samples"] = "200"
    with pytest.raises(ReportError, match=r"\$\.tasks\[0\]\.n_samples"):
        validate_report(doc)


@pytest.mark.parametrize(
    "path",
    [
        ("run",),
        ("tasks", 0),
        ("tasks", 0, "metrics", "acc"),
        ("indicators", 1),
        ("samples", 0),
        ("overall",),
    ],
)
def test_closed_objects_reject_unknown_keys(doc: dict[str, Any], path: tuple[Any, ...]) -> None:
    target: Any = doc
    for key in path:
        target = target[key]
    target["surprise"] = 1
    with pytest.raises(ReportError, match="surprise"):
        validate_report(doc)


def test_free_form_objects_accept_any_keys(doc: dict[str, Any]) -> None:
    doc["run"]["config"]["anything"] = {"nested": [1, 2]}
    doc["run"]["environment"]["cuda"] = "12.4"
    doc["extra"]["perplexity"] = {"wiki": 12.3}
    doc["samples"][1]["data"]["choices"] = ["A", "B"]
    validate_report(doc)


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (("run", "status"), "done"),
        (("dimensions", 0, "score"), 1.5),
        (("indicators", 0, "verdict"), "maybe"),
        (("tasks", 1, "metrics", "bleu", "direction"), "up"),
        (("samples", 0, "scores", "acc"), "1"),
    ],
)
def test_enums_and_ranges_are_enforced(
    doc: dict[str, Any], path: tuple[Any, ...], bad: Any
) -> None:
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bad
    with pytest.raises(ReportError):
        validate_report(doc)


# --------------------------------------------------------------------------- JSON


def test_json_round_trips(doc: dict[str, Any]) -> None:
    text = render_json(doc)
    assert json.loads(text) == doc
    assert "中文多任务理解" in text  # ensure_ascii=False keeps Chinese readable


def test_json_writes_non_finite_numbers_as_null(doc: dict[str, Any]) -> None:
    doc["indicators"][0]["stderr"] = float("nan")
    doc["tasks"][0]["metrics"]["acc"]["ci_high"] = float("inf")
    doc["extra"]["loss"] = [1.0, float("-inf")]
    loaded = json.loads(render_json(doc))
    assert loaded["indicators"][0]["stderr"] is None
    assert loaded["tasks"][0]["metrics"]["acc"]["ci_high"] is None
    assert loaded["extra"]["loss"] == [1.0, None]
    validate_report(loaded)


def test_render_json_validates_first(doc: dict[str, Any]) -> None:
    doc["overall"] = {"score": 0.5}
    with pytest.raises(ReportError, match="method"):
        render_json(doc)


# --------------------------------------------------------------------------- Markdown


def test_markdown_has_all_tables(doc: dict[str, Any]) -> None:
    md = render_markdown(doc)
    for heading in (
        "## Run",
        "## Overall",
        "## Tasks",
        "## Indicators",
        "## Notes",
        "## Environment",
    ):
        assert heading in md
    assert "| Dimension | 维度 | Score | Weight | Tasks |" in md
    assert "| Reasoning | 推理 | — |" in md  # the unscored dimension
    assert "0.62 [0.553, 0.687]" in md  # value with its CI
    assert "toxicity_rate (lower is better)" in md
    assert "| I2 | Toxicity rate | 有害输出率 |" in md and "| fail |" in md
    assert "≤ 0.05" in md  # lower-is-better threshold
    assert "3.11.7" in md and "torch 2.4.1" in md and "AMD EPYC 7B13" in md


def test_markdown_escapes_pipes_and_newlines(doc: dict[str, Any]) -> None:
    doc["dimensions"][0]["name"] = "Know|ledge\nand facts"
    md = render_markdown(doc)
    assert "Chinese MMLU \\| knowledge" in md
    assert "Know\\|ledge and facts" in md
    for line in md.splitlines():
        if line.startswith("|"):
            assert line.endswith("|")
    header = next(line for line in md.splitlines() if line.startswith("| Task |"))
    rows = [line for line in md.splitlines() if line.startswith("| cmmlu |")]
    unescaped = re.compile(r"(?<!\\)\|")
    assert len(unescaped.findall(rows[0])) == len(unescaped.findall(header))


# --------------------------------------------------------------------------- HTML


def test_html_is_self_contained(doc: dict[str, Any]) -> None:
    page = render_html(doc)
    assert "<svg" in page
    parsed = _parse(page)
    for tag, attrs in parsed.tags:
        for name in ("src", "href", "xlink:href", "action", "poster", "data"):
            value = attrs.get(name) or ""
            assert not re.match(r"\s*(https?:)?//", value), (tag, name, value)
        assert tag != "link" and tag != "iframe"
        if tag == "script":
            assert attrs == {}  # inline only, no src
    # The fixture holds no URLs, so none may appear anywhere (no CDN, fonts, xmlns).
    assert "http://" not in page and "https://" not in page


def test_html_escapes_model_output(doc: dict[str, Any]) -> None:
    page = render_html(doc)
    assert XSS_TAG not in page
    assert XSS_ATTR not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Thanks <b>" not in page
    parsed = _parse(page)
    assert [t for t, _ in parsed.tags].count("script") == 1
    assert not any("onmouseover" in attrs for _, attrs in parsed.tags)


def test_html_csp_allows_only_our_script(doc: dict[str, Any]) -> None:
    page = render_html(doc)
    parsed = _parse(page)
    csp = next(a["content"] for t, a in parsed.tags if t == "meta" and a.get("http-equiv"))
    assert "default-src 'none'" in csp
    assert f"'{csp_hash(''.join(parsed.script_text))}'" in csp
    assert '"use strict"' in "".join(parsed.script_text)  # the script itself is not escaped


def test_html_has_sections_and_chinese_labels(doc: dict[str, Any]) -> None:
    page = render_html(doc)
    for text in (
        "run-20261128-ab12",
        "qwen2.5-0.5b-instruct",
        "中文核心能力",
        "知识",
        "推理",
        "有害输出率",
        "0.605",
        "AMD EPYC 7B13",
        "transformers",
        "4.46.0",
    ):
        assert text in page
    assert 'id="f-task"' in page and 'id="f-fail"' in page and 'id="f-query"' in page
    # Issue 17: a failure is a score on its metric's failing side, not any zero: acc = 0
    # fails; harmful = 0 and bleu = 0 (no registered per-sample metric, so no direction) do not.
    assert page.count('data-fail="1"') == 1
    assert "lower is better" in page


def test_html_radar_has_one_point_per_dimension(doc: dict[str, Any]) -> None:
    page = render_html(doc)
    polygons = [
        a for t, a in _parse(page).tags if t == "polygon" and a.get("class") == "radar-value"
    ]
    assert len(polygons) == 1
    assert len(polygons[0]["points"].split()) == len(doc["dimensions"])


def test_html_with_two_dimensions_draws_bars(doc: dict[str, Any]) -> None:
    doc["dimensions"] = doc["dimensions"][:2]
    page = render_html(doc)
    assert "radar-value" not in page
    assert 'class="chart bars"' in page


def test_html_handles_empty_sections(doc: dict[str, Any]) -> None:
    for key in ("tasks", "dimensions", "indicators", "samples", "notes"):
        doc[key] = []
    doc["run"]["environment"] = {}
    doc["overall"]["score"] = None
    page = render_html(doc)
    assert "No samples" in page
    assert render_markdown(doc)


# --------------------------------------------------------------------------- charts


def test_radar_escapes_labels_and_marks_missing_values() -> None:
    svg = radar_svg(["<b>A</b>", "B & C", "丙"], [0.5, None, 1.2])
    assert "<b>" not in svg and "&lt;b&gt;A&lt;/b&gt;" in svg and "B &amp; C" in svg
    assert "n/a" in svg
    assert svg.count("<circle") == 3


def test_radar_falls_back_to_bars_below_three_axes() -> None:
    svg = radar_svg(["A", "B"], [0.2, None])
    assert "radar-value" not in svg and 'class="bar"' in svg


def test_ci_bars_scale_each_row_and_skip_unscaled_rows() -> None:
    svg = ci_bars_svg(
        [
            ("acc", 0.5, 0.4, 0.6, 1.0),
            ("bleu", 50.0, None, None, 100.0),
            ("latency (lower is better)", 120.0, None, None, None),
        ],
        width=640,
    )
    widths = [float(w) for w in re.findall(r'class="bar" [^>]*width="([0-9.]+)"', svg)]
    assert len(widths) == 2 and widths[0] == pytest.approx(widths[1], abs=0.1)
    assert svg.count('class="ci"') == 1
    assert ">120.0<" in svg


def test_bar_svg_checks_lengths() -> None:
    with pytest.raises(ValueError):
        bar_svg(["a"], [0.1, 0.2])


# --------------------------------------------------------------------------- files


def test_write_report_writes_all_formats(doc: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "deep" / "reports"
    paths = write_report(doc, out)
    assert [p.name for p in paths] == ["report.html", "report.md", "report.json"]
    assert json.loads((out / "report.json").read_text(encoding="utf-8")) == doc
    assert (out / "report.md").read_text(encoding="utf-8") == render_markdown(doc)
    assert (out / "report.html").read_text(encoding="utf-8") == render_html(doc)
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "report.md"]


def test_write_report_replaces_existing_files(doc: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text("old", encoding="utf-8")
    assert write_report(doc, tmp_path, ["json"]) == [tmp_path / "report.json"]
    assert (
        json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["run"]["id"]
        == doc["run"]["id"]
    )


def test_write_report_is_atomic(
    doc: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "report.json").write_text("previous", encoding="utf-8")

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ReportError, match=re.escape(str(tmp_path))):
        write_report(doc, tmp_path, ["json"])
    assert (tmp_path / "report.json").read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temp file left


def test_write_report_unwritable_folder(doc: dict[str, Any], tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    target = blocker / "reports"
    with pytest.raises(ReportError) as info:
        write_report(doc, target)
    assert str(target) in info.value.message
    assert info.value.hint


def test_write_report_rejects_unknown_format(doc: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="pdf"):
        write_report(doc, tmp_path / "r", ["html", "pdf"])
    assert not (tmp_path / "r").exists()


def test_write_report_invalid_doc_writes_nothing(doc: dict[str, Any], tmp_path: Path) -> None:
    broken = copy.deepcopy(doc)
    broken["tasks"][0]["n_samples"] = -1
    with pytest.raises(ReportError):
        write_report(broken, tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_markdown_environment_reads_what_runs_store(doc: dict[str, Any]) -> None:
    """Runs store `gpus` (a list, `core.fingerprint.gpu_inventory`) and `seed`
    (`core.run`); the renderer used to read `gpu`/`seeds` and always showed `—`."""
    from pingce.core.fingerprint import environment

    env = environment({"seed": 7, "threads": 2})
    env["gpus"] = [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "memory_mb": 81559}]
    doc["run"]["environment"] = env
    md = render_markdown(doc)
    gpu_row = next(line for line in md.splitlines() if line.startswith("| GPU |"))
    seed_row = next(line for line in md.splitlines() if line.startswith("| Seeds |"))
    assert "NVIDIA H100 80GB HBM3" in gpu_row and "MiB" in gpu_row
    assert seed_row == "| Seeds | 7 |"
    # no GPU seen; the seed the standard resolved (llm default) when no --seed was given
    env["gpus"], env["seed"] = [], None
    doc["run"].setdefault("config", {})["settings"] = {"seed": 1234}
    md = render_markdown(doc)
    assert "| GPU | none visible to torch |" in md
    assert "| Seeds | 1234 |" in md
