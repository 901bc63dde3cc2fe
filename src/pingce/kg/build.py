"""The reference KG constructor: an LLM prompted with the ontology and few-shot examples.

The prompt lists the ontology's relations with their domains and ranges and the entity
types, asks for one JSON object ``{"triples": [{"subject", "subject_type", "predicate",
"object", "object_type"}]}`` and shows worked examples from the gold set (never the text
being extracted). The `LanguageModel` protocol offers no grammar-constrained decoding, so
the schema is enforced after generation: the output is parsed robustly (code fences, prose
around the JSON, trailing commas, typographic quotes, single quotes) and every triple is
checked against the schema; what cannot be parsed is counted, never fatal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError
from pingce.kg.model import Item, Triple
from pingce.kg.normalize import nfkc
from pingce.kg.ontology import VALUE_TYPE, Ontology
from pingce.kg.readers import parse_triple

OUTPUT_SCHEMA = {
    "type": "object",
    "required": ["triples"],
    "properties": {
        "triples": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["subject", "predicate", "object"],
                "properties": {
                    "subject": {"type": "string"},
                    "subject_type": {"type": "string"},
                    "predicate": {"type": "string"},
                    "object": {"type": "string"},
                    "object_type": {"type": "string"},
                },
            },
        }
    },
}


def detect_lang(text: str) -> str:
    cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff")
    return "zh" if cjk >= max(1, len(text) // 5) else "en"


def read_texts(path: Path) -> list[Item]:
    """Passages to extract from: a folder of .txt files (blank lines split passages),
    one .txt file, or a .jsonl with ``id`` and ``text`` (e.g. the gold set)."""
    if not path.exists():
        raise DataError(f"text input {path} does not exist", hint="give --text DIR or FILE")
    items: list[Item] = []
    if path.is_file() and path.suffix.lower() in (".jsonl", ".json"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{n}: not JSON ({exc.msg})") from None
            if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
                raise DataError(f"{path}:{n}: expected an object with 'id' and 'text'")
            text = raw["text"]
            items.append(
                Item(id=str(raw.get("id", n)), text=text, lang=raw.get("lang") or detect_lang(text))
            )
    else:
        files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
        if not files:
            raise DataError(f"text folder {path} has no .txt files")
        for f in files:
            try:
                content = f.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise DataError(f"{f}: not UTF-8 text") from None
            parts = [p.strip() for p in re.split(r"\n\s*\n", content) if p.strip()]
            for k, part in enumerate(parts, start=1):
                sid = f.stem if len(parts) == 1 else f"{f.stem}:{k}"
                items.append(Item(id=sid, text=" ".join(part.split()), lang=detect_lang(part)))
    if not items:
        raise DataError(f"text input {path} has no passages")
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise DataError(f"text input {path}: passage ids are not unique")
    return items


def schema_text(ontology: Ontology) -> str:
    """The relations (with domain and range) and entity types, one per line."""

    def names(classes: frozenset[str]) -> str:
        return "|".join(sorted(ontology.name(c) for c in classes)) or "Thing"

    lines = ["Relations (subject type -> object type):"]
    for info in sorted(ontology.properties.values(), key=lambda p: p.name):
        if info.kind == "datatype" and info.name != "hasValue":
            continue  # structured value properties are not for text-level triples
        labels = " / ".join(ontology.labels.get(info.iri, []))
        rng = VALUE_TYPE if info.kind == "datatype" else names(info.range)
        lines.append(
            f"- {info.name}: {names(info.domain)} -> {rng}" + (f"  ({labels})" if labels else "")
        )
    tops = sorted(ontology.name(c) for c, sup in ontology.classes.items() if not sup)
    lines.append("Entity types: " + ", ".join([*tops, VALUE_TYPE]))
    return "\n".join(lines)


INSTRUCTION = (
    "Extract a knowledge graph from the text. Use only the relations listed below, with "
    "subjects and objects copied exactly from the text. A parameter's value (a number with "
    "its unit) is the object of hasValue with type Value. Answer with one JSON object "
    '{{"triples": [{{"subject": ..., "subject_type": ..., "predicate": ..., "object": ..., '
    '"object_type": ...}}]}} and nothing else.\n\n{schema}'
)


def example_answer(item: Item) -> str:
    return json.dumps({"triples": [t.to_dict() for t in item.triples]}, ensure_ascii=False)


def pick_shots(gold: Sequence[Item], exclude: str, lang: str, k: int) -> list[Item]:
    """`k` gold examples for the prompt: same language first, never the text itself."""
    pool = [g for g in gold if g.id != exclude and g.triples]
    same = [g for g in pool if g.lang == lang]
    other = [g for g in pool if g.lang != lang]
    # short examples with several relations teach the format best for few tokens
    same.sort(key=lambda g: (len(g.text), g.id))
    other.sort(key=lambda g: (len(g.text), g.id))
    return (same + other)[:k] if k > 0 else []


def build_messages(item: Item, ontology: Ontology, shots: Sequence[Item]) -> list[dict[str, str]]:
    msgs = [{"role": "system", "content": INSTRUCTION.format(schema=schema_text(ontology))}]
    for s in shots:
        msgs.append({"role": "user", "content": f"Text: {s.text}"})
        msgs.append({"role": "assistant", "content": example_answer(s)})
    msgs.append({"role": "user", "content": f"Text: {item.text}"})
    return msgs


def plain_prompt(messages: Sequence[dict[str, str]]) -> str:
    """A prompt for models without a chat template."""
    parts = []
    for m in messages:
        if m["role"] == "system" or m["role"] == "user":
            parts.append(m["content"])
        else:
            parts.append(f"JSON: {m['content']}")
    return "\n\n".join(parts) + "\nJSON:"


@dataclass(frozen=True)
class ParsedOutput:
    triples: list[Triple]
    status: str  # "ok", "repaired" or "unparseable"
    invalid: int  # array entries that were not valid triples


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def _candidates(text: str) -> list[tuple[str, bool]]:
    """JSON texts to try, with whether a repair was needed."""
    out = [(text, False)]
    fenced = _FENCE.findall(text)
    out.extend((f, False) for f in fenced)
    repaired = nfkc(text).replace("“", '"').replace("”", '"').replace("‘", "'").replace("’", "'")
    repaired = re.sub(r",\s*([}\]])", r"\1", repaired)
    out.append((repaired, True))
    if '"' not in repaired:
        out.append((repaired.replace("'", '"'), True))
    return out


def _decode_outer(text: str) -> Any:
    """The JSON object or array that starts at the first '{' or '['."""
    m = re.search(r"[\[{]", text)
    if m is None:
        raise ValueError("no JSON value")
    try:
        value, _ = json.JSONDecoder().raw_decode(text, m.start())
    except json.JSONDecodeError:
        raise ValueError("no JSON value") from None
    return value


def _salvage(text: str) -> list[Any]:
    """Every complete triple-like object inside broken JSON (e.g. an answer cut off by the
    token limit), scanning from each '{' or '['."""
    decoder = json.JSONDecoder()
    found, end = [], 0
    for m in re.finditer(r"[\[{]", text):
        if m.start() < end:
            continue
        try:
            value, stop = decoder.raw_decode(text, m.start())
        except json.JSONDecodeError:
            continue
        if parse_triple(value) is not None:
            found.append(value)
            end = stop
    return found


def _entries(value: Any) -> list[Any] | None:
    entries = value.get("triples") if isinstance(value, dict) else value
    if isinstance(value, dict) and entries is None and "subject" in value:
        entries = [value]
    return entries if isinstance(entries, list) else None


def parse_output(text: str) -> ParsedOutput:
    """Triples from a model's answer; never raises."""
    for candidate, repaired in _candidates(text):
        try:
            entries = _entries(_decode_outer(candidate))
        except ValueError:
            continue
        if entries is None:
            continue
        triples: list[Triple] = []
        invalid = 0
        for e in entries:
            t = parse_triple(e)
            if t is None:
                invalid += 1
            else:
                triples.append(t)
        return ParsedOutput(triples, "repaired" if repaired else "ok", invalid)
    for candidate, _ in _candidates(text):
        salvaged = _salvage(candidate)
        if salvaged:
            return ParsedOutput(
                [t for t in map(parse_triple, salvaged) if t is not None], "repaired", 0
            )
    return ParsedOutput([], "unparseable", 0)
