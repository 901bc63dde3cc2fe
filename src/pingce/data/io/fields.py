"""Which record fields hold the text: plain text, instruction pairs, or chat messages."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator


class FieldSpec(BaseModel):
    """Where a record keeps its id and text.

    - pre-training text: `text_field` (default "text");
    - instruction pairs: `prompt_field` (one field or a list joined by newlines, e.g.
      [instruction, input]) and `response_field`;
    - chat data: `messages_field`, a list of {"role", "content"} objects.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    text_field: str = "text"
    id_field: str | None = "id"
    prompt_field: str | list[str] | None = None
    response_field: str | None = None
    messages_field: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> FieldSpec:
        if (self.prompt_field is None) != (self.response_field is None):
            raise ValueError("give both prompt_field and response_field for instruction data")
        if self.prompt_field is not None and self.messages_field is not None:
            raise ValueError("give either prompt_field/response_field or messages_field, not both")
        return self

    @property
    def kind(self) -> Literal["text", "instruction", "messages"]:
        if self.messages_field:
            return "messages"
        if self.prompt_field is not None:
            return "instruction"
        return "text"

    @property
    def prompt_fields(self) -> list[str]:
        p = self.prompt_field
        return [] if p is None else [p] if isinstance(p, str) else list(p)

    def text_fields(self) -> list[str]:
        if self.kind == "messages":
            return [str(self.messages_field)]
        if self.kind == "instruction":
            return [*self.prompt_fields, str(self.response_field)]
        return [self.text_field]


def extract_parts(rec: dict[str, Any], spec: FieldSpec) -> tuple[list[tuple[str, str]], str | None]:
    """The record's text parts, or an error message naming the missing/bad field."""
    if spec.kind == "text":
        value = rec.get(spec.text_field)
        if spec.text_field not in rec:
            return [], f"missing text field {spec.text_field!r}"
        if not isinstance(value, str):
            return (
                [],
                f"text field {spec.text_field!r} is {type(value).__name__}, expected a string",
            )
        return [("text", value)], None
    if spec.kind == "instruction":
        prompts = []
        for name in spec.prompt_fields:
            if name not in rec:
                return [], f"missing prompt field {name!r}"
            value = rec[name]
            if value is None:
                value = ""
            if not isinstance(value, str):
                return [], f"prompt field {name!r} is {type(value).__name__}, expected a string"
            if value:
                prompts.append(value)
        resp_name = str(spec.response_field)
        if resp_name not in rec:
            return [], f"missing response field {resp_name!r}"
        if not isinstance(rec[resp_name], str):
            return [], f"response field {resp_name!r} is not a string"
        return [("prompt", "\n".join(prompts)), ("response", rec[resp_name])], None
    name = str(spec.messages_field)
    msgs = rec.get(name)
    if name not in rec:
        return [], f"missing messages field {name!r}"
    if not isinstance(msgs, list) or not all(
        isinstance(m, dict) and isinstance(m.get("content"), str) for m in msgs
    ):
        return [], f"messages field {name!r} must be a list of {{role, content}} objects"
    return [(f"messages.{i}.{m.get('role', '')}", m["content"]) for i, m in enumerate(msgs)], None


def rebuild_record(
    doc_id: str,
    parts: list[tuple[str, str]],
    record: dict[str, Any],
    spec: FieldSpec,
) -> dict[str, Any]:
    """The output record: the input's other fields plus the (possibly cleaned) text fields."""
    out: dict[str, Any] = {}
    if spec.id_field:
        out[spec.id_field] = doc_id
    out.update(record)
    if spec.kind == "text":
        out[spec.text_field] = parts[0][1]
    elif spec.kind == "instruction":
        fields = spec.prompt_fields
        # A multi-field prompt was joined for processing; it is written to the first field.
        out[fields[0]] = parts[0][1]
        for extra in fields[1:]:
            out[extra] = ""
        out[str(spec.response_field)] = parts[1][1]
    else:
        original = record.get("_messages_roles") or []
        msgs = []
        for i, (name, text) in enumerate(parts):
            role = name.split(".", 2)[2] if name.count(".") >= 2 else ""
            msg = dict(original[i]) if i < len(original) else {}
            msg["role"] = msg.get("role", role)
            msg["content"] = text
            msgs.append(msg)
        out.pop("_messages_roles", None)
        out[str(spec.messages_field)] = msgs
    return out
