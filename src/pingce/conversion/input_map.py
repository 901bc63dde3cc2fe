"""Which input of the converted model takes which input of the source.

`torch.onnx.export` names graph inputs after the forward arguments it is given (often `x`), a
TorchScript archive keeps its own (`input`), so a valid pair may disagree on names. The map is:

- explicit `--input-map src=dst[,src=dst...]` (every name must exist on its side; inputs named
  alike on both sides need no entry);
- else the names themselves when both sides name the same inputs;
- else position, when that is unambiguous: each side has exactly one input;
- else an error that lists both sides' names and asks for `--input-map`.

The data is always keyed by the source's names; the converted model is then fed through the
map (a torch model by renaming its positional arguments, an ONNX model through `feed_keys`).
"""

from __future__ import annotations

from pingce.core.errors import SpecError
from pingce.models.loaded import LoadedModel, OnnxModel, TorchModel


def parse_input_map(text: str | None) -> dict[str, str]:
    """`src=dst,src2=dst2` -> {src: dst}; empty or None -> {}."""
    out: dict[str, str] = {}
    for part in [p.strip() for p in (text or "").split(",") if p.strip()]:
        src, sep, dst = part.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise SpecError(
                f"--input-map: {part!r} is not SRC=DST",
                hint="e.g. --input-map input=x (source input name = converted input name)",
            )
        if src.strip() in out:
            raise SpecError(f"--input-map: source input {src.strip()!r} is mapped twice")
        out[src.strip()] = dst.strip()
    return out


def match_inputs(
    source: list[str], target: list[str], explicit: dict[str, str] | None = None
) -> tuple[dict[str, str], str]:
    """({target input: source input}, how it was matched: explicit | names | position)."""
    both = f"source inputs: {', '.join(source)}; converted: {', '.join(target)}"
    if explicit:
        for src, dst in explicit.items():
            if src not in source:
                raise SpecError(f"--input-map: the source has no input {src!r}", hint=both)
            if dst not in target:
                raise SpecError(f"--input-map: the converted model has no input {dst!r}", hint=both)
        if len(set(explicit.values())) != len(explicit):
            raise SpecError("--input-map: two source inputs map to one converted input", hint=both)
        mapping = {dst: src for src, dst in explicit.items()}
        for name in target:
            if name not in mapping:
                if name not in source or name in explicit:
                    raise SpecError(
                        f"--input-map: nothing feeds the converted model's input {name!r}",
                        hint=both,
                    )
                mapping[name] = name
        return mapping, "explicit"
    if set(target) <= set(source):
        return {n: n for n in target}, "names"
    if len(source) == 1 and len(target) == 1:
        return {target[0]: source[0]}, "position"
    raise SpecError(
        "the converted model's input names differ from the source's and there is more than "
        "one input, so they cannot be matched by position",
        hint=f"{both}; pass --input-map SRC=DST,...",
    )


def feed_target_through(target: LoadedModel, mapping: dict[str, str]) -> None:
    """Make `target` read source-named feeds: {target input: source input}."""
    if all(k == v for k, v in mapping.items()):
        return
    if isinstance(target, OnnxModel):
        target.feed_keys = dict(mapping)
    elif isinstance(target, TorchModel):  # called positionally: only the lookup keys change
        target.input_names = [mapping[n] for n in target.input_names]
