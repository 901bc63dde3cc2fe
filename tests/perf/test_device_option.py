"""`--device` for torch systems under test: CPU everywhere, CUDA where a GPU exists.

Reference for the CUDA case: the same built-in digits network on CPU (outputs must agree to
float32 tolerance). The CUDA tests skip cleanly on machines without a GPU (CI never has one).
"""

from __future__ import annotations

import numpy as np
import pytest

from pingce.core.errors import SpecError
from pingce.core.spec import parse_subject
from pingce.perf.sut import open_sut, torch_device

torch = pytest.importorskip("torch")
HAS_CUDA = torch.cuda.is_available()


def test_device_names() -> None:
    assert torch_device("cpu") == "cpu"
    assert torch_device("auto") == ("cuda" if HAS_CUDA else "cpu")
    with pytest.raises(SpecError, match="expected auto, cpu, cuda"):
        torch_device("tpu")


@pytest.mark.skipif(HAS_CUDA, reason="checks the error on a machine without a GPU")
def test_cuda_without_a_gpu_is_a_one_line_error() -> None:
    with pytest.raises(SpecError, match="torch sees no CUDA GPU") as info:
        open_sut(parse_subject("builtin:digits"), {"device": "cuda"})
    assert "\n" not in info.value.one_line()


@pytest.mark.skipif(not HAS_CUDA, reason="needs an NVIDIA GPU")
def test_digits_on_cuda_matches_cpu() -> None:
    cpu, data = open_sut(parse_subject("builtin:digits"), {"device": "cpu"})
    gpu, _ = open_sut(parse_subject("builtin:digits"), {"device": "cuda"})
    assert gpu.settings()["device"] == "cuda"
    x = data.inputs[:64]
    # cuDNN runs convolutions in TF32 by default (about 3 significant digits), which moved
    # logits of ~25 by ~0.02 on an H200; compare in full float32, then restore the setting.
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        got = gpu._run(x)
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    want = cpu._run(x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
    assert (got.argmax(1) == want.argmax(1)).all()
