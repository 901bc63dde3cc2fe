"""Weight-only INT8/INT4 quantisation of linear layers (the usual LLM recipe).

Each nn.Linear weight W [out, in] is split into groups of `group_size` input columns (the
whole row when 0); each group gets a symmetric scale s = max|W_g| / qmax (qmax = 127 for
INT8, 7 for INT4) and integer codes q = clamp(round(W_g / s), -qmax-1, qmax). INT4 codes are
packed two per byte. The forward pass dequantises (q * s) and runs a float matmul, so memory
and file size shrink while activations stay in float.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def quantize_weight(
    weight: torch.Tensor, bits: int, group_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 codes [out, in], float scales [out, groups]) for a float weight [out, in]."""
    if bits not in (4, 8):
        raise ValueError(f"bits must be 4 or 8, got {bits}")
    out_f, in_f = weight.shape
    group = group_size if group_size and in_f % group_size == 0 else in_f
    qmax = 2 ** (bits - 1) - 1
    w = weight.detach().float().reshape(out_f, in_f // group, group)
    scales = w.abs().amax(dim=2).clamp(min=1e-12) / qmax
    codes = torch.clamp(torch.round(w / scales[..., None]), -qmax - 1, qmax).to(torch.int8)
    return codes.reshape(out_f, in_f), scales


def pack_int4(codes: torch.Tensor) -> torch.Tensor:
    """Two signed 4-bit codes per uint8 (low nibble = even column); needs an even column count."""
    u = (codes.to(torch.int16) & 0xF).to(torch.uint8)
    return u[:, 0::2] | (u[:, 1::2] << 4)


def unpack_int4(packed: torch.Tensor) -> torch.Tensor:
    low = (packed & 0xF).to(torch.int16)
    high = ((packed >> 4) & 0xF).to(torch.int16)
    both = torch.stack([low, high], dim=2).reshape(packed.shape[0], -1)
    return torch.where(both > 7, both - 16, both).to(torch.int8)


class WeightOnlyLinear(nn.Module):
    """A linear layer holding integer weight codes and float scales."""

    def __init__(self, linear: nn.Linear, bits: int, group_size: int) -> None:
        super().__init__()
        codes, scales = quantize_weight(linear.weight, bits, group_size)
        self.bits = bits
        self.in_features = linear.in_features
        self.group = linear.in_features // scales.shape[1]
        packed = bits == 4 and codes.shape[1] % 2 == 0
        self.packed = packed
        self.register_buffer("codes", pack_int4(codes) if packed else codes)
        self.register_buffer("scales", scales)
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone())

    def dequantized(self) -> torch.Tensor:
        codes = unpack_int4(self.codes) if self.packed else self.codes
        out_f = codes.shape[0]
        w = codes.float().reshape(out_f, -1, self.group) * self.scales[..., None]
        return w.reshape(out_f, self.in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.dequantized(), self.bias)


def quantize_linears(module: nn.Module, *, bits: int, group_size: int) -> nn.Module:
    """Replace every nn.Linear inside `module` (in place) by a WeightOnlyLinear."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Linear):
            setattr(module, name, WeightOnlyLinear(child, bits, group_size))
        else:
            quantize_linears(child, bits=bits, group_size=group_size)
    return module


def count_linear(module: Any) -> int:
    return sum(1 for m in module.modules() if isinstance(m, WeightOnlyLinear))
