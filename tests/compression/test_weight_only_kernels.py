"""Weight-only INT8/INT4 kernel layers and the hf backend's kernel path.

References:
- kernel layers: the output of x (rounded to bfloat16, as the layer feeds the kernel) times the
  codes dequantised with the saved scales, computed here in float64 with a plain matmul.
  Tolerance: the kernels return bfloat16, one rounding of the output (observed <= 2^-8 relative
  on this CPU); the bound is 2^-7 * |ref| + 2^-12 * (|x| |W|^T), the second term for outputs
  near zero where the float32 accumulation order matters. A wrong layout or the INT8 kernel's
  K-not-a-multiple-of-16 bug gives errors of order 1.
- tiny Qwen2 through HFCausalLM: the kernel path against the same folder's dequantised float32
  weights (same weights exactly; only bfloat16 activations differ); bound stated in the test.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from pingce.models import weight_only_kernels as wok  # noqa: E402

SHAPES = [(64, 64), (96, 176), (17, 40), (256, 1024), (48, 2816)]  # (out N, in K)


def _bound(y_mm: torch.Tensor, ref: torch.Tensor, mag: torch.Tensor) -> bool:
    return bool(((y_mm - ref).abs() <= 2**-7 * ref.abs() + 2**-12 * mag).all())


@pytest.mark.parametrize("bits", [8, 4])
@pytest.mark.parametrize("shape", SHAPES)
def test_kernel_linear_vs_float64_reference(bits: int, shape: tuple[int, int]) -> None:
    gen = torch.Generator().manual_seed(sum(shape) + bits)
    n, k = shape
    w = torch.randn(n, k, generator=gen)
    bias = torch.randn(n, generator=gen)
    if bits == 8:
        codes, scales = wok.quantize_int8_per_channel(w)
        layer: torch.nn.Module = wok.Int8KernelLinear(codes, scales, bias)
        assert scales.shape == (n,)
    else:
        codes, scales = wok.quantize_int4_grouped(w, 32)
        layer = wok.Int4KernelLinear(codes, scales, 32, bias)
        assert scales.shape == (n, math.ceil(k / 32))
        assert int(codes.min()) >= -8 and int(codes.max()) <= 7
    # the reference dequantises independently: per channel, or per 32-column group
    cols = torch.arange(k) // 32
    s = scales.double()[:, None] if bits == 8 else scales.double()[:, cols]
    w_ref = codes.double() * s
    assert float((w_ref - w.double()).abs().max()) <= float(s.max()) * 0.5 + 1e-6  # rounding
    for lead in [(1,), (7,), (2, 3)]:
        x = torch.randn(*lead, k, generator=gen)
        y = layer(x)
        assert y.shape == (*lead, n) and y.dtype == torch.float32
        xb = x.reshape(-1, k).to(torch.bfloat16).double()
        ref = xb @ w_ref.T
        mag = xb.abs() @ w_ref.abs().T
        y_mm = y.reshape(-1, n).double() - bias.double()
        assert _bound(y_mm, ref, mag), float((y_mm - ref).abs().max())


def test_int4_group_and_packing() -> None:
    codes, scales = wok.quantize_int4_grouped(torch.randn(16, 64), 16)
    with pytest.raises(wok.KernelError, match="32, 64, 128, 256"):
        wok.Int4KernelLinear(codes, scales, 16, None)
    c = torch.randint(-8, 8, (5, 11), dtype=torch.int8)  # odd column count
    packed = wok.pack_nibbles(c)
    assert packed.shape == (5, 6) and packed.dtype == torch.uint8
    assert torch.equal(wok.unpack_nibbles(packed, 11), c)
    assert wok.kernels_unavailable("cuda", 8) and "CPU only" in wok.kernels_unavailable("cuda", 8)
    assert wok.kernels_unavailable("cpu", 8) is None and wok.kernels_unavailable("cpu", 4) is None


@pytest.fixture(scope="module")
def folders(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from pingce.compression.llm import compress_llm

    out = tmp_path_factory.mktemp("wok")
    return {r: compress_llm(tiny_model_dir, r, out)[0] for r in ("int8", "int4")}


def _lm(folder: Path, **kw: object):  # type: ignore[no-untyped-def]
    from pingce.backends.hf import HFCausalLM

    return HFCausalLM(str(folder), device="cpu", dtype="float32", batch_size=4, **kw)


@pytest.mark.parametrize("recipe", ["int8", "int4"])
def test_manifest_round_trip(folders: dict[str, Path], recipe: str) -> None:
    """The manifest lists every nn.Linear but the head; codes * scales equal the saved weights."""
    from safetensors.torch import load_file

    folder = folders[recipe]
    manifest = wok.read_manifest(folder)
    assert manifest is not None and manifest["layout"] == wok.LAYOUT
    assert manifest["bits"] == (8 if recipe == "int8" else 4)
    assert manifest["group_size"] == (None if recipe == "int8" else 32)
    cfg = json.loads((folder / "config.json").read_text())
    names = [e["name"] for e in manifest["linears"]]
    assert len(names) == 7 * cfg["num_hidden_layers"] and not any("lm_head" in n for n in names)
    layers = wok.load_kernel_weights(folder, manifest)
    saved = load_file(str(folder / "model.safetensors"))
    for name, (codes, scales) in layers.items():
        assert scales.dtype == torch.bfloat16
        deq = wok.dequantize(codes, scales, manifest["group_size"])
        assert torch.equal(deq, saved[f"{name}.weight"])  # exact, float32


@pytest.mark.parametrize("recipe", ["int8", "int4"])
def test_kernel_path_close_to_dequantised(folders: dict[str, Path], recipe: str) -> None:
    """Same weights; bf16 activations in the quantised linears only. Bound: per-position
    next-token log-probabilities within 0.05 nats, request log-likelihoods within 0.02 nats per
    token, same greedy flags where the dequantised margin is not tiny."""
    from pingce.backends.hf import HFCausalLM
    from pingce.models.weight_only_kernels import Int4KernelLinear, Int8KernelLinear

    folder = folders[recipe]
    kern = _lm(folder, weight_only="kernels")
    auto = _lm(folder)  # "auto": manifest present on CPU -> kernels
    deq = _lm(folder, weight_only="dequantised")
    assert (kern.weight_only, auto.weight_only, deq.weight_only) == (
        "kernels",
        "kernels",
        "dequantised",
    )
    kind = Int8KernelLinear if recipe == "int8" else Int4KernelLinear
    assert isinstance(kern.model.model.layers[0].mlp.down_proj, kind)
    assert isinstance(deq.model.model.layers[0].mlp.down_proj, torch.nn.Linear)
    assert kern.fingerprint()["weight_only"] == "kernels" and "weight_only" not in deq.fingerprint()
    ids = torch.randint(1, 200, (2, 40), generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        lk = torch.log_softmax(kern.model(input_ids=ids).logits.float(), -1)
        ld = torch.log_softmax(deq.model(input_ids=ids).logits.float(), -1)
    assert float((lk - ld).abs().max()) <= 0.05
    assert float((lk - ld).abs().max()) > 0  # the kernel path really ran
    reqs = [("The capital of France is", " Paris"), ("Question: 2+2?\nAnswer:", " 4 apples")]
    for a, b in zip(kern.loglikelihood(reqs), deq.loglikelihood(reqs), strict=True):
        assert abs(a.logprob - b.logprob) <= 0.02 * a.n_tokens
    text = ["weight-only kernels run with bfloat16 activations on the CPU. 这是一个测试。"]
    ra, rb = kern.loglikelihood_rolling(text)[0], deq.loglikelihood_rolling(text)[0]
    assert ra.n_tokens == rb.n_tokens and abs(ra.logprob - rb.logprob) <= 0.02 * ra.n_tokens
    assert isinstance(kern, HFCausalLM)


def test_subject_option_reaches_backend(folders: dict[str, Path]) -> None:
    from pingce.core.spec import parse_subject
    from pingce.llm.standard import open_hf

    lm = open_hf(parse_subject(f"hf:{folders['int8']}?weight_only=dequantised"), {})
    assert lm.weight_only == "dequantised"
    lm = open_hf(parse_subject(f"hf:{folders['int8']}?weight_only=kernels&device=cpu"), {})
    assert lm.weight_only == "kernels"


def test_errors_are_one_line(folders: dict[str, Path], tiny_model_dir: Path, tmp_path) -> None:
    from pingce.core.errors import ModelError

    with pytest.raises(ModelError) as err:
        _lm(tiny_model_dir, weight_only="kernels")
    msg = err.value.one_line()
    assert "pingce_weight_only.json" in msg and "\n" not in msg
    with pytest.raises(ModelError, match="weight_only must be one of"):
        _lm(folders["int8"], weight_only="fast")
    # kernel codes that do not match the folder's float weights
    bad = tmp_path / "bad"
    shutil.copytree(folders["int8"], bad)
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(bad / wok.KERNEL_FILE))
    first = next(k for k in tensors if k.endswith(".scales"))
    tensors[first] = tensors[first] * 2
    save_file(tensors, str(bad / wok.KERNEL_FILE))
    with pytest.raises(ModelError, match="do not match"):
        _lm(bad, weight_only="kernels")
    (bad / wok.KERNEL_FILE).unlink()
    with pytest.raises(ModelError, match="is missing"):
        _lm(bad)


def test_default_path_unchanged_without_manifest(tiny_model_dir: Path) -> None:
    """A folder without the manifest: the default ("auto") loads exactly what "dequantised"
    (the pre-kernel code path) loads: same fingerprint keys, plain nn.Linear layers, and
    bit-identical log-likelihoods."""
    plain = _lm(tiny_model_dir, weight_only="dequantised")
    default = _lm(tiny_model_dir)
    assert default.weight_only == "dequantised"
    assert default.fingerprint() == plain.fingerprint()
    assert set(default.fingerprint()) == {
        "backend",
        "model",
        "digest",
        "dtype",
        "device",
        "max_length",
    }
    assert all(
        type(m) is not wok.Int8KernelLinear and type(m) is not wok.Int4KernelLinear
        for m in default.model.modules()
    )
    reqs = [("Question: 2+2?\nAnswer:", " 4"), ("", "hello world")]
    assert [r.logprob for r in default.loglikelihood(reqs)] == [
        r.logprob for r in plain.loglikelihood(reqs)
    ]
