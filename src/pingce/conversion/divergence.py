"""Where do two models start to disagree? Compare intermediate outputs layer by layer.

ONNX models are re-run with every intermediate tensor marked as a graph output (what
`polygraphy run --onnx-outputs mark all` does). A torch source is run with forward hooks on
every submodule; each module is matched to the last ONNX node the exporter placed in that
module's scope (the dynamo exporter records it in the node's `namespace` metadata, the
TorchScript exporter in node names such as `/layer1/conv1/Conv`). Two ONNX models are matched
by tensor name. Layers are listed in the source's execution order; the first whose values fail
the tolerance check is the divergence point.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pingce.conversion.numerics import compare_output
from pingce.models.loaded import LoadedModel, OnnxModel, TorchModel
from pingce.models.onnx_runtime import ort_session


def onnx_intermediates(model: OnnxModel, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every node output of an ONNX model (optimisations off, so none are fused away)."""
    import onnx

    proto = onnx.load(str(model.path))
    existing = {o.name for o in proto.graph.output}
    for node in proto.graph.node:
        for name in node.output:
            if name and name not in existing:
                proto.graph.output.append(onnx.ValueInfoProto(name=name))
                existing.add(name)
    session = ort_session(
        proto.SerializeToString(), optimization="disable", what=f"{model.path} (all outputs)"
    )
    names = [o.name for o in session.get_outputs()]
    types = {i.name: i.type for i in session.get_inputs()}
    values = session.run(None, {n: model.feed(feeds, n) for n in types})
    return {n: np.asarray(v) for n, v in zip(names, values, strict=True)}


def node_scopes(path: Any) -> list[tuple[str, str]]:
    """(module path, output tensor) for each node in topological order ('' = no module)."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    out = []
    for node in proto.graph.node:
        if not node.output or not node.output[0]:
            continue
        meta = {p.key: p.value for p in node.metadata_props}
        scope = ""
        if "namespace" in meta:
            # ": Root/layer1: Block/layer1.conv1: Conv2d/conv2d: aten.conv2d.default"
            parts = meta["namespace"].split("/")
            if len(parts) > 2:
                scope = parts[-2].split(":")[0].strip()
        elif node.name.startswith("/"):
            # "/layer2/down/down.0/Conv": a dotted segment is qualified by its parent's name
            segments = node.name.strip("/").split("/")[:-1]
            path_parts: list[str] = []
            for seg in segments:
                if path_parts and seg.startswith(path_parts[-1] + "."):
                    path_parts[-1] = seg
                else:
                    path_parts.append(seg)
            scope = ".".join(path_parts)
        out.append((scope, node.output[0]))
    return out


class LayersUnavailable(Exception):
    """The source's intermediate outputs cannot be read; the message says why (for the report)."""


TORCHSCRIPT_REASON = (
    "the source is TorchScript: its compiled modules accept no forward hooks and keep no "
    "module scope per operation, so its intermediate outputs cannot be matched to the ONNX "
    "graph's layers; verify from the eager model (zoo:NAME or state:PATH?arch=NAME) or a "
    "torch.export .pt2 to get the layer table"
)


def torch_intermediates(
    model: TorchModel, feeds: dict[str, np.ndarray]
) -> list[tuple[str, np.ndarray]]:
    """(module path, output) in completion order; a module called twice keeps its last call.

    Eager modules are read with forward hooks; a torch.export program (whose module has no
    layer modules to hook) is run node by node with torch.fx.Interpreter, each operation's
    output attributed to the modules in its `nn_module_stack`; TorchScript raises
    LayersUnavailable."""
    import torch

    if isinstance(model.module, torch.jit.ScriptModule):
        raise LayersUnavailable(TORCHSCRIPT_REASON)
    if model.ref.kind == "export" and isinstance(model.module, torch.fx.GraphModule):
        return _exported_intermediates(model, feeds)

    results: dict[str, np.ndarray] = {}
    order: list[str] = []
    handles = []

    def hook(name: str) -> Any:
        def fn(_mod: Any, _inp: Any, output: Any) -> None:
            tensor = output[0] if isinstance(output, tuple | list) else output
            if isinstance(tensor, torch.Tensor):
                if name in results:
                    order.remove(name)
                results[name] = tensor.detach().float().numpy().copy()
                order.append(name)

        return fn

    for name, module in model.module.named_modules():
        if name:
            handles.append(module.register_forward_hook(hook(name)))
    try:
        model.run(feeds)
    finally:
        for h in handles:
            h.remove()
    return [(n, results[n]) for n in order]


def _exported_intermediates(
    model: TorchModel, feeds: dict[str, np.ndarray]
) -> list[tuple[str, np.ndarray]]:
    """Module outputs of a torch.export program: the output of the last operation inside each
    module scope, in the order the scopes complete (what forward hooks give an eager model)."""
    import torch

    results: dict[str, np.ndarray] = {}
    order: list[str] = []

    class Recorder(torch.fx.Interpreter):
        def run_node(self, node: torch.fx.Node) -> Any:
            value = super().run_node(node)
            stack = node.meta.get("nn_module_stack") or {}
            if node.op == "call_function" and isinstance(value, torch.Tensor) and stack:
                arr = value.detach().float().numpy().copy()
                # innermost first, so an enclosing module completes after its last child
                for path, _cls in reversed(list(stack.values())):
                    if not isinstance(path, str) or not path:
                        continue
                    if path in results:
                        order.remove(path)
                    results[path] = arr
                    order.append(path)
            return value

    args = [torch.from_numpy(np.ascontiguousarray(feeds[n])) for n in model.input_names]
    with torch.no_grad():
        Recorder(model.module).run(*args)
    return [(n, results[n]) for n in order]


def layer_table(
    source: LoadedModel,
    target: LoadedModel,
    feeds: dict[str, np.ndarray],
    *,
    rtol: float,
    atol: float,
) -> list[dict[str, Any]]:
    """Per matched layer: name, shape, max abs/rel error, cosine and pass/fail, source order."""
    pairs: list[tuple[str, np.ndarray, np.ndarray]] = []
    if isinstance(target, OnnxModel):
        tvals = onnx_intermediates(target, feeds)
        if isinstance(source, OnnxModel):
            svals = onnx_intermediates(source, feeds)
            for scope, name in node_scopes(source.path):
                if name in tvals and name in svals:
                    pairs.append((f"{scope}:{name}" if scope else name, svals[name], tvals[name]))
        elif isinstance(source, TorchModel):
            last_in_scope: dict[str, str] = {}
            for scope, name in node_scopes(target.path):
                if not scope:
                    continue
                parts = scope.split(".")
                for i in range(1, len(parts) + 1):  # a node also belongs to enclosing modules
                    last_in_scope[".".join(parts[:i])] = name
            # Exporters fold layers (batch norm into the convolution before it), so several
            # modules can map to one tensor; it is the output of the last of them to finish.
            matched: dict[str, tuple[str, np.ndarray]] = {}
            for module, value in torch_intermediates(source, feeds):
                name = last_in_scope.get(module)
                if name is not None and name in tvals:
                    matched.pop(name, None)
                    matched[name] = (module, value)
            pairs = [(module, value, tvals[name]) for name, (module, value) in matched.items()]
    rows = []
    for layer, s_val, t_val in pairs:
        if s_val.shape != t_val.shape or not np.issubdtype(s_val.dtype, np.floating):
            continue
        stats = compare_output(s_val, t_val.astype(s_val.dtype, copy=False), rtol=rtol, atol=atol)
        rows.append(
            {
                "layer": layer,
                "shape": list(s_val.shape),
                "max_abs": stats["max_abs"],
                "max_rel": stats["max_rel"],
                "cosine": stats["cosine"],
                "pass": bool(stats["allclose"]),
            }
        )
    return rows


def first_divergence(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first layer of the trailing run of failing layers (None if the last layer passes).

    An isolated mismatch followed by passing layers is usually an exporter fusion (batch norm
    folded into the convolution before it, so the convolution's tensor already holds the
    normalised values), not an error that reaches the output; the point from which the error
    persists to the output is what explains a failing output.
    """
    if not rows or rows[-1]["pass"]:
        return None
    i = len(rows) - 1
    while i > 0 and not rows[i - 1]["pass"]:
        i -= 1
    return rows[i]
