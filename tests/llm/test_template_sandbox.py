"""Suite templates are untrusted: they render in Jinja's sandbox, and `pingce validate` refuses
the ones that reach private or internal attributes (issue #14, item 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pingce.core.errors import SpecError
from pingce.llm.prompts import render, unsafe_reference

WHERE = "data.jsonl: row 1 (id a)"
ESCAPE = "{{ cycler.__init__.__globals__.os.system('touch X') }}"


@pytest.mark.parametrize(
    ("source", "reached"),
    [
        (ESCAPE, "__globals__"),
        ("{{ question.__class__ }}", "__class__"),
        ("{{ question['__class__'] }}", "__class__"),
        ("{{ question | attr('__class__') }}", "__class__"),
        ("{{ question._private }}", "_private"),
        ("{{ x.mro }}", "mro"),
        ("{{ y.gi_frame }}", "gi_frame"),
        ("{% for k in d.__dict__ %}{{ k }}{% endfor %}", "__dict__"),
    ],
)
def test_static_check_names_the_attribute(source: str, reached: str) -> None:
    found = unsafe_reference(source)
    assert found is not None and reached in found
    with pytest.raises(SpecError, match="not allowed in templates"):
        render(source, {"question": "q", "x": 1, "y": [1], "d": {}}, WHERE)


def test_ordinary_templates_pass_the_check() -> None:
    source = (
        "Q: {{ question }}\n{% for c in choices %}{{ loop.index }}. {{ c | upper }}\n{% endfor %}"
    )
    assert unsafe_reference(source) is None
    assert render(source, {"question": "q", "choices": ["a", "b"]}, WHERE) == "Q: q\n1. A\n2. B\n"


@pytest.mark.parametrize(
    "source",
    [
        # Attribute names built at render time: only the sandbox itself can refuse them.
        "{{ question[('__cla' ~ 'ss__')] }}",
        "{{ '{0.__class__}'.format(question) }}",
        # The immutable sandbox refuses mutating methods.
        "{% set l = [1] %}{{ l.append(2) }}",
        # Memory bombs through operators.
        "{{ 'x' * 10 ** 12 }}",
        "{{ 10 ** 100 }}",
    ],
)
def test_render_time_refusals_are_one_line_spec_errors(source: str) -> None:
    with pytest.raises(SpecError) as info:
        render(source, {"question": "q"}, WHERE)
    assert info.value.message.startswith(WHERE)
    assert "\n" not in info.value.one_line()


def test_lipsum_is_not_available() -> None:
    # lipsum(10**8) would build text in a loop nothing bounds.
    with pytest.raises(Exception, match="lipsum"):
        render("{{ lipsum(10) }}", {}, WHERE)


def _evil_suite(folder: Path, field: str) -> Path:
    (folder / "data.jsonl").write_text(
        '{"id": "a", "question": "1+1?", "answer": "2", "solution": "2"}\n', encoding="utf-8"
    )
    prompt = ESCAPE if field == "prompt" else "{{ question }}"
    extra = f'    {field}: "{ESCAPE}"\n' if field != "prompt" else ""
    suite = folder / "evil.yaml"
    suite.write_text(
        "standard: llm\nname: evil\ntitle: evil\ntasks:\n"
        "  - id: gen\n    type: generative\n    dimension: mathematics\n"
        f'    dataset: {{path: data.jsonl}}\n    prompt: "{prompt}"\n{extra}'
        "    target: answer\n    metrics: [exact_match]\n",
        encoding="utf-8",
    )
    return suite


@pytest.mark.parametrize("field", ["prompt", "fewshot_target"])
def test_validate_and_run_refuse_an_escaping_template(
    tmp_path: Path, pingce_cli: Any, field: str
) -> None:
    suite = _evil_suite(tmp_path, field)
    db = tmp_path / "store.db"
    validate = pingce_cli(["validate", str(suite)], cwd=tmp_path)
    run = pingce_cli(
        [
            "run",
            "--suite",
            str(suite),
            "--model",
            "openai://127.0.0.1:9/v1?model=x",
            "--db",
            str(db),
            "--quiet",
        ],
        cwd=tmp_path,
    )
    for proc in (validate, run):
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
        # The file, the task and the field are named.
        assert (
            f"{suite}: tasks.gen.{field}" in lines[0] or f"evil.yaml: tasks.gen.{field}" in lines[0]
        )
        assert "__globals__" in lines[0]
    assert not (tmp_path / "X").exists()
    assert not any(p.name == "X" for p in tmp_path.rglob("X"))
