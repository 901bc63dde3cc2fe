"""Weight-only INT8/INT4 linear layers that run PyTorch's CPU kernels (kernel layout v1).

Layout v1, written by `pingce compress llm` next to the dequantised float weights:

- INT8: one symmetric scale per output channel, s = bf16(max|W_row| / 127), codes
  q = clamp(round(W / s), -128, 127). Run by `torch._weight_int8pack_mm(x_bf16, q, s)`.
- INT4: one symmetric scale per group of `group_size` consecutive input columns (32, 64, 128 or
  256; the last group of a row may be shorter), s = bf16(max|W_g| / 7), codes
  q = clamp(round(W_g / s), -8, 7), stored two per byte (low nibble = even column). Run by
  `torch._weight_int4pack_mm_for_cpu(x_bf16, pack(q + 8), group_size, [s, 0])`, which computes
  (u - 8) * s + 0 per weight.

Scales are rounded to bfloat16 *before* the codes are computed, so q * s is exactly the weight
the kernel multiplies with, and the dequantised float32 weights saved in the folder (q * s, exact
in float32) are the same numbers: accuracy measured on the float folder and speed measured on
the kernels describe one model. The only difference between the two paths is the kernels'
bfloat16 activations and output (relative error ~2^-9 per output).

Inputs are padded with zero columns to a multiple of 16 (INT8; on this AVX-512 CPU the INT8
kernel returns wrong numbers, or crashes, when K is not a multiple of 16) or of the group size
(INT4), and INT4 output channels to a multiple of 16 (the INT4 packer requires it); padded codes
are 0 and the padded outputs are dropped, so padding changes no result.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

KERNEL_FILE = "pingce_weight_only.safetensors"
MANIFEST = "pingce_weight_only.json"
LAYOUT = "pingce-weight-only-v1"
INT4_GROUPS = (32, 64, 128, 256)
MODES = ("auto", "kernels", "dequantised")
_INT8_K_MULTIPLE = 16
_INT4_N_MULTIPLE = 16
_INNER_K_TILES = 2


class KernelError(ValueError):
    """A weight-only kernel cannot run here or the kernel files are inconsistent."""


def quantize_int8_per_channel(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 codes [N, K], bfloat16 scales [N]) for a float weight [N, K]."""
    w = weight.detach().float()
    scales = (w.abs().amax(dim=1).clamp(min=1e-12) / 127).to(torch.bfloat16)
    codes = torch.clamp(torch.round(w / scales.float()[:, None]), -128, 127).to(torch.int8)
    return codes, scales


def quantize_int4_grouped(
    weight: torch.Tensor, group_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 codes in [-8, 7] [N, K], bfloat16 scales [N, ceil(K / group)]); last group may be short."""
    w = weight.detach().float()
    n, k = w.shape
    n_groups = math.ceil(k / group_size)
    padded = nn.functional.pad(w, (0, n_groups * group_size - k)).reshape(n, n_groups, group_size)
    scales = (padded.abs().amax(dim=2).clamp(min=1e-12) / 7).to(torch.bfloat16)
    codes = torch.clamp(torch.round(padded / scales.float()[..., None]), -8, 7)
    return codes.reshape(n, -1)[:, :k].to(torch.int8), scales


def dequantize(codes: torch.Tensor, scales: torch.Tensor, group_size: int | None) -> torch.Tensor:
    """Float32 weight q * s (exact: an int8 code times a bfloat16 scale fits float32)."""
    if scales.dim() == 1:
        return codes.float() * scales.float()[:, None]
    n, k = codes.shape
    assert group_size is not None
    per_col = scales.float().repeat_interleave(group_size, dim=1)[:, :k]
    return codes.float() * per_col


def pack_nibbles(codes: torch.Tensor) -> torch.Tensor:
    """Signed 4-bit codes [N, K] -> uint8 [N, ceil(K/2)], low nibble = even column."""
    if codes.shape[1] % 2:
        codes = nn.functional.pad(codes, (0, 1))
    u = (codes.to(torch.int16) & 0xF).to(torch.uint8)
    return u[:, 0::2] | (u[:, 1::2] << 4)


def unpack_nibbles(packed: torch.Tensor, k: int) -> torch.Tensor:
    low = (packed & 0xF).to(torch.int16)
    high = ((packed >> 4) & 0xF).to(torch.int16)
    both = torch.stack([low, high], dim=2).reshape(packed.shape[0], -1)[:, :k]
    return torch.where(both > 7, both - 16, both).to(torch.int8)


def kernels_unavailable(device: str, bits: int) -> str | None:
    """Why the kernels for `bits` cannot run on `device` here, or None when they can."""
    if device != "cpu":
        return f"weight-only kernels are enabled and tested on CPU only, not on {device!r}"
    ops = (
        ("_weight_int8pack_mm",)
        if bits == 8
        else ("_convert_weight_to_int4pack_for_cpu", "_weight_int4pack_mm_for_cpu")
    )
    missing = [op for op in ops if not hasattr(torch.ops.aten, op)]
    if missing:
        return f"torch {torch.__version__} has no {', '.join(missing)}"
    return None


def _pad_to(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


class Int8KernelLinear(nn.Module):
    """y = x W^T + b with W = q * s per output channel, via torch._weight_int8pack_mm (bf16)."""

    def __init__(self, codes: torch.Tensor, scales: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.out_features, self.in_features = codes.shape
        k_pad = _pad_to(self.in_features, _INT8_K_MULTIPLE) - self.in_features
        self.register_buffer("weight_int8", nn.functional.pad(codes, (0, k_pad)).contiguous())
        self.register_buffer("scales", scales.to(torch.bfloat16).contiguous())
        self.k_pad = k_pad
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone(), False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features).to(torch.bfloat16)
        if self.k_pad:
            x2 = nn.functional.pad(x2, (0, self.k_pad))
        y = torch._weight_int8pack_mm(x2.contiguous(), self.weight_int8, self.scales).to(x.dtype)
        if self.bias is not None:
            y = y + self.bias.to(x.dtype)
        return y.reshape(*lead, self.out_features)


class Int4KernelLinear(nn.Module):
    """y = x W^T + b with W = q * s per input group, via torch._weight_int4pack_mm_for_cpu (bf16)."""

    def __init__(
        self,
        codes: torch.Tensor,
        scales: torch.Tensor,
        group_size: int,
        bias: torch.Tensor | None,
    ):
        super().__init__()
        if group_size not in INT4_GROUPS:
            raise KernelError(
                f"the CPU int4 kernel takes group sizes {INT4_GROUPS}, not {group_size}"
            )
        self.out_features, self.in_features = codes.shape
        self.group_size = group_size
        k_full = _pad_to(self.in_features, group_size)
        n_full = _pad_to(self.out_features, _INT4_N_MULTIPLE)
        self.k_pad = k_full - self.in_features
        unsigned = nn.functional.pad(codes.to(torch.int32), (0, self.k_pad)) + 8
        unsigned = nn.functional.pad(unsigned, (0, 0, 0, n_full - self.out_features), value=8)
        packed = torch._convert_weight_to_int4pack_for_cpu(unsigned.contiguous(), _INNER_K_TILES)
        s = nn.functional.pad(scales.to(torch.bfloat16), (0, 0, 0, n_full - self.out_features))
        s = s.clamp(min=torch.finfo(torch.bfloat16).tiny)  # padded rows: any scale, codes are 0
        sz = torch.stack([s.t(), torch.zeros_like(s.t())], dim=2).contiguous()
        self.register_buffer("weight_int4pack", packed)
        self.register_buffer("scales_and_zeros", sz)
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone(), False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features).to(torch.bfloat16)
        if self.k_pad:
            x2 = nn.functional.pad(x2, (0, self.k_pad))
        y = torch._weight_int4pack_mm_for_cpu(
            x2.contiguous(), self.weight_int4pack, self.group_size, self.scales_and_zeros
        )
        y = y[:, : self.out_features].to(x.dtype)
        if self.bias is not None:
            y = y + self.bias.to(x.dtype)
        return y.reshape(*lead, self.out_features)


# ---- the folder's kernel files ---------------------------------------------------------------
def save_kernel_weights(
    folder: Path,
    layers: dict[str, tuple[torch.Tensor, torch.Tensor]],
    *,
    recipe: str,
    bits: int,
    group_size: int | None,
) -> dict[str, Any]:
    """Write KERNEL_FILE (codes, scales per layer) and MANIFEST; returns the manifest."""
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    entries = []
    for name, (codes, scales) in layers.items():
        stored = pack_nibbles(codes) if bits == 4 else codes
        tensors[f"{name}.codes"] = stored.contiguous()
        tensors[f"{name}.scales"] = scales.to(torch.bfloat16).contiguous()
        entries.append(
            {"name": name, "out_features": codes.shape[0], "in_features": codes.shape[1]}
        )
    manifest = {
        "layout": LAYOUT,
        "recipe": recipe,
        "bits": bits,
        "group_size": group_size,
        "scales": "symmetric, bfloat16, "
        + ("one per output channel" if bits == 8 else f"one per {group_size} input columns"),
        "codes": "int8 [out, in]" if bits == 8 else "int4 two per uint8, low nibble first",
        "dequantised": "the folder's float weights equal codes * scales exactly (float32)",
        "kernels": "torch._weight_int8pack_mm"
        if bits == 8
        else "torch._weight_int4pack_mm_for_cpu",
        "linears": entries,
    }
    tmp = folder / (KERNEL_FILE + ".tmp")
    save_file(tensors, str(tmp), metadata={"layout": LAYOUT})
    tmp.replace(folder / KERNEL_FILE)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None when it has none; KernelError when it is malformed."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise KernelError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("layout") != LAYOUT:
        raise KernelError(f"{path}: layout is not {LAYOUT!r}")
    if manifest.get("bits") not in (4, 8) or not isinstance(manifest.get("linears"), list):
        raise KernelError(f"{path}: expected bits 4 or 8 and a 'linears' list")
    if not (folder / KERNEL_FILE).is_file():
        raise KernelError(f"{folder}: {MANIFEST} is there but {KERNEL_FILE} is missing")
    return manifest


def load_kernel_weights(
    folder: Path, manifest: dict[str, Any]
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """{linear name: (int8 codes [N, K], bf16 scales)} from KERNEL_FILE."""
    from safetensors.torch import load_file

    raw = load_file(str(folder / KERNEL_FILE))
    out = {}
    for entry in manifest["linears"]:
        name, k = entry["name"], int(entry["in_features"])
        try:
            codes, scales = raw[f"{name}.codes"], raw[f"{name}.scales"]
        except KeyError:
            raise KernelError(f"{folder / KERNEL_FILE}: no tensors for layer {name!r}") from None
        out[name] = (unpack_nibbles(codes, k) if manifest["bits"] == 4 else codes, scales)
    return out


def apply_weight_only(model: nn.Module, folder: Path, mode: str, device: str) -> str:
    """Swap the manifest's nn.Linear layers for kernel layers; returns the path that runs.

    mode: "dequantised" (change nothing), "kernels" (manifest and kernels required), "auto"
    (kernels when the folder has a manifest and the kernels run on `device`, else nothing).
    Returns "kernels" or "dequantised"; a folder without a manifest is never touched.
    """
    if mode not in MODES:
        raise KernelError(f"weight_only must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "dequantised":
        return "dequantised"
    manifest = read_manifest(folder)
    if manifest is None:
        if mode == "kernels":
            raise KernelError(
                f"{folder} has no {MANIFEST}; weight_only=kernels needs a folder written by "
                "`pingce compress llm --recipe int8|int4`"
            )
        return "dequantised"
    reason = kernels_unavailable(device, manifest["bits"])
    if reason:
        if mode == "kernels":
            raise KernelError(reason)
        return "dequantised"
    layers = load_kernel_weights(folder, manifest)
    modules = dict(model.named_modules())
    for name, (codes, scales) in layers.items():
        linear = modules.get(name)
        if not isinstance(linear, nn.Linear) or tuple(linear.weight.shape) != tuple(codes.shape):
            raise KernelError(f"{folder / MANIFEST}: layer {name!r} is not a matching nn.Linear")
        _check_matches(linear.weight, codes, scales, manifest, name, folder)
        bias = linear.bias
        if manifest["bits"] == 8:
            new: nn.Module = Int8KernelLinear(codes, scales, bias)
        else:
            new = Int4KernelLinear(codes, scales, int(manifest["group_size"]), bias)
        parent_name, _, child = name.rpartition(".")
        setattr(modules[parent_name] if parent_name else model, child, new.to(device))
    return "kernels"


def _check_matches(
    weight: torch.Tensor,
    codes: torch.Tensor,
    scales: torch.Tensor,
    manifest: dict[str, Any],
    name: str,
    folder: Path,
) -> None:
    """The kernel tensors must be the folder's float weights (exact in float32; within one
    rounding step when the model was loaded in a 16-bit dtype)."""
    deq = dequantize(codes, scales, manifest.get("group_size"))
    w = weight.detach().float()
    tol = 0.0 if weight.dtype == torch.float32 else torch.finfo(weight.dtype).eps
    if not bool(((w - deq).abs() <= tol * deq.abs()).all()):
        raise KernelError(
            f"{folder / KERNEL_FILE}: codes of {name!r} do not match the folder's float weights"
        )
