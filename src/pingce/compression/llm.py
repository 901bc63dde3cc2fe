"""LLM compression: build a compressed variant of a Hugging Face causal LM folder and compare it
with its baseline through the llm module (perplexity + a multiple-choice task).

Recipes: `int8` (weight-only, symmetric, one bfloat16 scale per output channel) and `int4`
(symmetric, one bfloat16 scale per group of input columns) on every nn.Linear except the output
head, which Qwen/Llama-style checkpoints tie to the input embedding; `fp16` / `bf16` (every
floating parameter cast). The int8/int4 layouts are the ones PyTorch's CPU weight-only kernels
take (pingce.models.weight_only_kernels).

How a quantised variant is stored: the integer codes are dequantised (q * s, exact in float32)
back into the float weights and saved with `save_pretrained`, so the folder loads through any
`hf:` loader and the evaluation sees exactly the quantisation error; next to them,
`pingce_weight_only.safetensors` (codes and scales) and its manifest `pingce_weight_only.json`
let the llm module's hf backend run the layers with the integer kernels (`hf:PATH?weight_only=
kernels`, the default "auto" when the manifest is present on CPU). The float weights are kept,
so the folder does not shrink on disk; the compression ratio is computed from the quantised
representation (codes plus bfloat16 scales) and labelled as such, next to the on-disk ratio.
`pingce-compression.json` in the folder records the recipe and all byte counts.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

from pingce.core.errors import SpecError
from pingce.core.paths import OUTPUT_MARKER, prepare_output_dir

RECIPES = ("int8", "int4", "fp16", "bf16")
METADATA = "pingce-compression.json"
SKIP_LINEARS = ("lm_head",)  # tied to the embedding in most small checkpoints; kept in float
DEFAULT_GROUP = 32


def _load(model_dir: Path) -> Any:
    from transformers import AutoModelForCausalLM

    if not (model_dir / "config.json").is_file():
        raise SpecError(f"{model_dir}: not a Hugging Face model folder (no config.json)")
    return AutoModelForCausalLM.from_pretrained(str(model_dir), dtype="auto")


def _tensor_bytes(t: Any) -> int:
    return int(t.numel() * t.element_size())


def compress_llm(
    model_dir: Path, recipe: str, out_dir: Path, *, group_size: int = DEFAULT_GROUP
) -> tuple[Path, dict[str, Any]]:
    """Write the compressed variant of `model_dir` to out_dir/<recipe>/; returns (path, metadata).

    Byte counts: `baseline_param_bytes` (unique floating parameters as loaded; non-persistent buffers
    such as rotary tables are not stored and not counted),
    `compressed_param_bytes` (the same with each quantised weight replaced by its codes and
    float32 scales, or every float cast for fp16/bf16), `linear_*` the same restricted to the
    quantised linear weights, `*_file_bytes` the safetensors files on disk.
    """
    import torch
    from torch import nn

    from pingce.models import weight_only_kernels as wok

    if recipe not in RECIPES:
        raise SpecError(
            f"--recipe: unknown LLM recipe {recipe!r}", hint=f"one of: {', '.join(RECIPES)}"
        )
    if not (model_dir / "config.json").is_file():
        raise SpecError(f"{model_dir}: not a Hugging Face model folder (no config.json)")
    target = out_dir / recipe
    # A variant replaces only a folder pingce wrote (core.paths.OUTPUT_MARKER), never the
    # baseline or a folder holding it, nor a user's folder that happens to share the name.
    prepare_output_dir(
        target,
        command=f"pingce compress llm --recipe {recipe}",
        overwrite=True,
        inputs=[model_dir],
        option="--out-dir",
    )
    model = _load(model_dir)
    seen: set[int] = set()
    tensors = []
    for t in model.parameters():  # unique: a tied head shares the embedding
        if id(t) not in seen and t.is_floating_point():
            seen.add(id(t))
            tensors.append(t)
    base_bytes = sum(_tensor_bytes(t) for t in tensors)
    lin_base = lin_comp = 0
    n_linear = 0
    kernel_layers: dict[str, tuple[Any, Any]] = {}
    if recipe in ("int8", "int4"):
        bits = 8 if recipe == "int8" else 4
        with torch.no_grad():
            for name, mod in model.named_modules():
                if not isinstance(mod, nn.Linear) or name.split(".")[-1] in SKIP_LINEARS:
                    continue
                w = mod.weight
                if bits == 8:  # the int8 kernel's layout: one scale per output channel
                    codes, scales = wok.quantize_int8_per_channel(w)
                    deq = wok.dequantize(codes, scales, None)
                    stored_bytes = _tensor_bytes(codes)
                else:
                    codes, scales = wok.quantize_int4_grouped(w, group_size)
                    deq = wok.dequantize(codes, scales, group_size)
                    stored_bytes = _tensor_bytes(wok.pack_nibbles(codes))
                w.copy_(deq.to(w.dtype))  # exactly codes * scales: what the kernels use
                kernel_layers[name] = (codes, scales)
                lin_base += _tensor_bytes(w)
                lin_comp += stored_bytes + _tensor_bytes(scales)
                n_linear += 1
        comp_bytes = base_bytes - lin_base + lin_comp
    else:
        dtype = torch.float16 if recipe == "fp16" else torch.bfloat16
        model = model.to(dtype)
        comp_bytes = sum(_tensor_bytes(t) for t in {id(t): t for t in model.parameters()}.values())
        lin_base, lin_comp = base_bytes, comp_bytes
    model.save_pretrained(str(target))
    kernel_manifest = None
    if kernel_layers and (recipe == "int8" or group_size in wok.INT4_GROUPS):
        kernel_manifest = wok.save_kernel_weights(
            target,
            kernel_layers,
            recipe=recipe,
            bits=8 if recipe == "int8" else 4,
            group_size=group_size if recipe == "int4" else None,
        )
    for f in model_dir.iterdir():  # tokenizer, chat template, generation config
        # pingce-*.json markers describe the baseline, not the variant
        if (
            f.is_file()
            and not (target / f.name).exists()
            and f.suffix != ".safetensors"
            and not f.name.startswith(("pingce-", "pingce_", OUTPUT_MARKER))
        ):
            shutil.copy2(f, target / f.name)
    meta = {
        "recipe": recipe,
        "baseline": str(model_dir.resolve()),
        "group_size": group_size if recipe == "int4" else None,
        "scales": "one bfloat16 scale per output channel"
        if recipe == "int8"
        else (f"one bfloat16 scale per {group_size} input columns" if recipe == "int4" else None),
        "quantised_linears": n_linear,
        "skipped_linears": list(SKIP_LINEARS) if recipe in ("int8", "int4") else [],
        "storage": "dequantised float weights plus integer codes and scales for the kernels "
        f"({wok.KERNEL_FILE}); no size saving on disk"
        if recipe in ("int8", "int4")
        else f"{recipe} weights",
        "kernel_layout": kernel_manifest["layout"] if kernel_manifest else None,
        "baseline_param_bytes": base_bytes,
        "compressed_param_bytes": comp_bytes,
        "linear_baseline_bytes": lin_base,
        "linear_compressed_bytes": lin_comp,
        "baseline_file_bytes": _st_bytes(model_dir),
        # the loadable float weights only (the kernel file is an extra copy of the codes)
        "compressed_file_bytes": _st_bytes(target) - _kernel_file_bytes(target),
    }
    (target / METADATA).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return target, meta


def _st_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.glob("*.safetensors"))


def _kernel_file_bytes(folder: Path) -> int:
    from pingce.models.weight_only_kernels import KERNEL_FILE

    path = folder / KERNEL_FILE
    return path.stat().st_size if path.is_file() else 0


def llm_suite(n_fewshot: int = 2) -> dict[str, Any]:
    """The built-in suite `compression/llm` (`suites/llm.yaml`: llm/quick's perplexity and
    knowledge-mc data) with absolute data paths and `n_fewshot` shots."""
    from pingce.core.spec import load_suite

    base = load_suite("compression/llm")
    spec = base.spec.model_dump(mode="json", exclude_defaults=True)
    for task in spec["tasks"]:
        task["dataset"] = {
            k: str((base.base_dir / v).resolve()) for k, v in task["dataset"].items()
        }
        if "num_fewshot" in task:
            task["num_fewshot"] = n_fewshot
    return spec


def step_functions(model: Any, ids: Any) -> dict[str, Any]:
    """Two timeable calls on a causal LM: "prefill" (one forward pass over `ids`) and "decode"
    (one new token over the key/value cache of `ids`; the cache is cropped back after each
    call, so every call decodes the same position)."""
    import inspect

    import torch

    with torch.inference_mode():
        out = model(input_ids=ids, use_cache=True)
    # transformers 5.x renamed the cache argument and output (as in pingce.backends.hf)
    cache_arg = (
        "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    )
    cache = getattr(out, cache_arg)
    step = ids[:, :1]

    def prefill() -> None:
        with torch.inference_mode():
            model(input_ids=ids)

    def decode() -> None:
        with torch.inference_mode():
            model(input_ids=step, use_cache=True, **{cache_arg: cache})
        cache.crop(-1)

    return {"prefill": prefill, "decode": decode}


def llm_latency(
    model_dir: Path, *, repeats: int = 10, threads: int = 1, weight_only: str = "dequantised"
) -> dict[str, Any]:
    """Latency (pingce.core.measure) of a 64-token forward pass (prefill) and of one decode step
    (one new token over the 64-token key/value cache), with the model loaded as the llm module's
    hf backend loads it on CPU: `weight_only` "kernels" swaps in the INT8/INT4 kernel layers.

    Returns {"prefill": LatencyStats, "decode": LatencyStats, "path": "kernels"|"dequantised"}.
    """
    import torch
    from transformers import AutoModelForCausalLM

    from pingce.core.measure import measure_latency
    from pingce.models.weight_only_kernels import apply_weight_only

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype="auto").eval()
    path = apply_weight_only(model, model_dir, weight_only, "cpu")
    ids = torch.arange(64).remainder(model.config.vocab_size - 1).add(1).unsqueeze(0)
    steps = step_functions(model, ids)
    prefill, decode = steps["prefill"], steps["decode"]
    return {
        "prefill": measure_latency(prefill, warmup=2, repeats=repeats, threads=threads),
        "decode": measure_latency(decode, warmup=2, repeats=repeats, threads=threads),
        "path": path,
    }


def _indicator(iid: str, name_zh: str, unit: str, direction: str, definition: str) -> Any:
    from pingce.core.spec import Indicator

    return Indicator(
        id=iid,
        name=iid,
        name_zh=name_zh,
        unit=unit,
        direction=direction,  # type: ignore[arg-type]
        definition=definition,
    )


# The run-level indicators of a `pingce compress llm` report, in report order.
LLM_INDICATORS = [
    (
        "cmp_llm_ratio_quantised_param_bytes",
        "压缩比（量化表示参数字节）",
        "x",
        "higher",
        "baseline parameter bytes / parameter bytes of the quantised representation "
        "(codes + float32 scales); not the on-disk size of the dequantised folder",
    ),
    (
        "cmp_llm_ratio_quantised_linear_bytes",
        "压缩比（量化线性层字节）",
        "x",
        "higher",
        "bytes of the quantised linear weights before / after (codes + scales)",
    ),
    (
        "cmp_llm_ratio_file_bytes_as_saved",
        "压缩比（保存文件字节）",
        "x",
        "higher",
        "safetensors bytes baseline / variant folder as saved (1.0 for dequantised int8/int4)",
    ),
    (
        "cmp_llm_bits_per_byte_rel_change",
        "每字节比特相对变化",
        "fraction",
        "lower",
        "(bits_per_byte compressed - baseline) / baseline on the perplexity task",
    ),
    (
        "cmp_llm_bits_per_byte_delta",
        "每字节比特变化",
        "bits/byte",
        "lower",
        "mean per-document bits_per_byte difference (compressed - baseline), paired bootstrap CI",
    ),
    (
        "cmp_llm_mc_accuracy_drop",
        "选择题准确率下降",
        "fraction",
        "lower",
        "MC accuracy baseline - compressed; CI from McNemar's paired Wald interval",
    ),
    (
        "cmp_llm_mc_top1_agreement",
        "选择题首选一致率",
        "fraction",
        "higher",
        "fraction of MC items where both models pick the same choice",
    ),
]


def _per_doc_bpb(recs: list[dict[str, Any]]) -> dict[str, float]:
    """Bits per byte of each document: -log p(text) / (UTF-8 bytes * ln 2).

    Perplexity records score [logprob, n_tokens, n_words, n_bytes] (pingce.llm.metrics).
    """
    return {
        r["sample_id"]: -r["scores"]["bits_per_byte"][0]
        / (r["scores"]["bits_per_byte"][3] * math.log(2))
        for r in recs
    }


def compare_llm_runs(
    store: Any,
    base_run: str,
    comp_run: str,
    meta: dict[str, Any],
    latency: tuple[Any, Any] | None = None,
    bpb_tolerance: float = 0.05,
) -> dict[str, Any]:
    """One compression report document: the compressed variant's llm run plus the comparison.

    Everything is recomputed from the two runs' stored records and the variant's metadata.
    """
    from pingce.core.report.kit import IndicatorEntry, Section, Table, to_dicts, verdict
    from pingce.core.reporting import build_report_doc
    from pingce.core.stats import mcnemar, paired_bootstrap
    from pingce.core.store import records_as_dicts
    from pingce.llm.metrics import bits_per_byte

    def recs(run: str, task: str) -> dict[str, dict[str, Any]]:
        return {r["sample_id"]: r for r in records_as_dicts(store.records(run, task))}

    b_mc, c_mc = recs(base_run, "knowledge-mc"), recs(comp_run, "knowledge-mc")
    ids = sorted(set(b_mc) & set(c_mc))
    if not ids:
        raise SpecError("the two LLM runs share no multiple-choice items")
    a = [int(b_mc[i]["scores"]["acc"]) for i in ids]
    b = [int(c_mc[i]["scores"]["acc"]) for i in ids]
    mc = mcnemar(a, b)
    agree = [int(b_mc[i]["data"]["extracted"] == c_mc[i]["data"]["extracted"]) for i in ids]
    b_pp, c_pp = recs(base_run, "perplexity"), recs(comp_run, "perplexity")
    docs = sorted(set(b_pp) & set(c_pp))
    bb, cb = _per_doc_bpb([b_pp[d] for d in docs]), _per_doc_bpb([c_pp[d] for d in docs])

    def corpus(rs: dict[str, dict[str, Any]]) -> float:  # the llm module's own aggregation
        return bits_per_byte([rs[d]["scores"]["bits_per_byte"] for d in docs])

    bpb_base, bpb_comp = corpus(b_pp), corpus(c_pp)
    bpb_delta = paired_bootstrap([bb[d] for d in docs], [cb[d] for d in docs])
    ratio_model = meta["baseline_param_bytes"] / meta["compressed_param_bytes"]
    ratio_linear = meta["linear_baseline_bytes"] / max(meta["linear_compressed_bytes"], 1)
    ratio_file = meta["baseline_file_bytes"] / max(meta["compressed_file_bytes"], 1)
    acc_b, acc_c = sum(a) / len(a), sum(b) / len(b)
    rel_change = (bpb_comp - bpb_base) / bpb_base
    comparison = {
        "recipe": meta["recipe"],
        "baseline_run": base_run,
        "compressed_run": comp_run,
        "bits_per_byte_baseline": bpb_base,
        "bits_per_byte_compressed": bpb_comp,
        "bits_per_byte_delta": bpb_comp - bpb_base,
        "bits_per_byte_rel_change": rel_change,
        "bits_per_byte_delta_paired": bpb_delta.to_dict(),
        "mc_accuracy_baseline": acc_b,
        "mc_accuracy_compressed": acc_c,
        "mc_accuracy_drop": acc_b - acc_c,
        "mc_mcnemar": mc.to_dict(),
        "mc_top1_agreement": sum(agree) / len(agree),
        "n_mc": len(ids),
        "n_docs": len(docs),
        "ratio_quantised_param_bytes": ratio_model,
        "ratio_quantised_linear_bytes": ratio_linear,
        "ratio_file_bytes_as_saved": ratio_file,
        "metadata": meta,
    }
    if latency:
        base_l, comp_l = latency
        comparison["execution_path"] = comp_l["path"]
        for kind in ("prefill", "decode"):
            lb, lc = base_l[kind], comp_l[kind]
            key = "latency_ms" if kind == "prefill" else "decode_latency_ms"
            comparison[key] = {"baseline": lb.to_dict(), "compressed": lc.to_dict()}
            comparison["speedup_p50" if kind == "prefill" else "decode_speedup_p50"] = (
                lb.p50_ms / lc.p50_ms
            )
    doc = build_report_doc(store, store.get_run(comp_run))
    ind = {spec[0]: _indicator(*spec) for spec in LLM_INDICATORS}
    # the bits-per-byte check holds the size of the relative change against the tolerance
    bpb_verdict = verdict(abs(rel_change), bpb_tolerance, "lower")
    entries = [
        IndicatorEntry.from_indicator(
            ind["cmp_llm_ratio_quantised_param_bytes"], ratio_model, "run"
        ),
        IndicatorEntry.from_indicator(
            ind["cmp_llm_ratio_quantised_linear_bytes"],
            ratio_linear,
            "run",
            n=meta["quantised_linears"] or None,
        ),
        IndicatorEntry.from_indicator(ind["cmp_llm_ratio_file_bytes_as_saved"], ratio_file, "run"),
        IndicatorEntry.from_indicator(
            ind["cmp_llm_bits_per_byte_rel_change"],
            rel_change,
            "run",
            n=len(docs),
            threshold=bpb_tolerance,
            verdict=bpb_verdict,
        ),
        IndicatorEntry.from_indicator(
            ind["cmp_llm_bits_per_byte_delta"],
            bpb_delta.delta,
            "run",
            n=len(docs),
            ci_low=bpb_delta.ci_low,
            ci_high=bpb_delta.ci_high,
        ),
        IndicatorEntry.from_indicator(
            ind["cmp_llm_mc_accuracy_drop"],
            acc_b - acc_c,
            "run",
            n=len(ids),
            ci_low=-mc.ci_high,
            ci_high=-mc.ci_low,
        ),
        IndicatorEntry.from_indicator(
            ind["cmp_llm_mc_top1_agreement"], sum(agree) / len(agree), "run", n=len(ids)
        ),
    ]
    doc["indicators"] = to_dicts(entries)
    rows = [
        [
            "bits_per_byte",
            bpb_base,
            bpb_comp,
            bpb_comp - bpb_base,
            f"[{bpb_delta.ci_low:.4f}, {bpb_delta.ci_high:.4f}]",
            bpb_delta.p_value,
        ],
        [
            "MC accuracy (knowledge-mc)",
            acc_b,
            acc_c,
            acc_c - acc_b,
            f"[{mc.ci_low:.4f}, {mc.ci_high:.4f}]",
            mc.p_value,
        ],
    ]
    text = (
        f"Baseline run {base_run}, compressed run {comp_run}. Storage: {meta['storage']}. "
        f"Ratios: quantised parameter bytes {ratio_model:.3f}x, quantised linear bytes "
        f"{ratio_linear:.3f}x, file bytes as saved {ratio_file:.3f}x. MC top-1 agreement "
        f"{sum(agree) / len(agree):.3f} over {len(ids)} items."
    )
    notes = [
        f"McNemar ({mc.method}) p = {mc.p_value:.3g}: the MC accuracy change is "
        + ("significant." if mc.p_value < 0.05 else "not statistically significant."),
    ]
    if latency:
        base_l, comp_l = latency
        labels = {
            "prefill": "forward latency p50, 64 tokens (ms)",
            "decode": "decode step latency p50, 1 token after 64 (ms)",
        }
        for kind, label in labels.items():
            lb, lc = base_l[kind], comp_l[kind]
            rows.append(
                [
                    label,
                    lb.p50_ms,
                    lc.p50_ms,
                    lc.p50_ms - lb.p50_ms,
                    f"baseline [{lb.ci_low_ms:.2f}, {lb.ci_high_ms:.2f}] / compressed "
                    f"[{lc.ci_low_ms:.2f}, {lc.ci_high_ms:.2f}]",
                    None,
                ]
            )
        if meta["recipe"] in ("int8", "int4"):
            if comp_l["path"] == "kernels":
                notes.append(
                    f"The {meta['recipe']} variant ran (evaluation and latency) on PyTorch's "
                    "weight-only CPU kernels with bfloat16 activations "
                    f"({meta['kernel_layout']}); the rest of the model ran in its float dtype."
                )
            else:
                notes.append(
                    f"The {meta['recipe']} variant ran on its dequantised float weights (no "
                    "integer kernels here), so its latency equals float latency by construction."
                )
    section = Section(
        "llm-compression",
        f"LLM compression: {meta['recipe']}",
        f"大模型压缩：{meta['recipe']}",
        text=text,
        table=Table(["metric", "baseline", "compressed", "change", "95% CI (paired)", "p"], rows),
    )
    doc["sections"] = [section.to_dict(), *doc["sections"]]
    doc["notes"] = notes + doc["notes"]
    doc["extra"] = {**doc.get("extra", {}), "compression": comparison}
    return doc


def run_llm_compression(
    store: Any,
    model_dir: Path,
    recipe: str,
    out_dir: Path,
    *,
    group_size: int = DEFAULT_GROUP,
    latency_repeats: int = 10,
    threads: int = 1,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Compress, evaluate baseline and variant through the llm module, compare; returns the doc."""
    from pingce.core.run import RunRequest, execute_run
    from pingce.core.spec import suite_from_dict
    from pingce.models.weight_only_kernels import kernels_unavailable, read_manifest

    target, meta = compress_llm(model_dir, recipe, out_dir, group_size=group_size)
    manifest = read_manifest(target)
    mode = "dequantised"
    if manifest is not None and kernels_unavailable("cpu", manifest["bits"]) is None:
        mode = "kernels"
    runs = []
    # The kernels are enabled on CPU only, so a kernel variant is pinned there.
    query = "?weight_only=kernels&device=cpu" if mode == "kernels" else ""
    subjects = [f"hf:{model_dir.resolve()}", f"hf:{target.resolve()}{query}"]
    for subject in subjects:
        suite = suite_from_dict(llm_suite(), "pingce compress llm", Path.cwd())
        runs.append(
            execute_run(
                store,
                RunRequest(suite=suite, subject=subject),
                show_progress=show_progress,
            )
        )
    latency = None
    if latency_repeats:
        latency = (
            llm_latency(model_dir, repeats=latency_repeats, threads=threads),
            llm_latency(target, repeats=latency_repeats, threads=threads, weight_only=mode),
        )
    return compare_llm_runs(store, runs[0], runs[1], meta, latency)
