"""Vision-language models loaded locally with Hugging Face transformers (issue #20).

A question about one or more images goes through the checkpoint's own processor and chat
template (`AutoProcessor`, `AutoModelForImageTextToText`): the template places an image
marker per image and the processor expands it into the model's image tokens, so the same code
serves Idefics3/SmolVLM, Qwen2-VL and LLaVA-style checkpoints. Only local folders are loaded
(`local_files_only`): pingce never downloads a model.
"""

from __future__ import annotations

import base64
import binascii
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pingce.backends.base import Generation, GenerationParams, repaired_generation
from pingce.backends.hf import model_files_digest, resolve_device, resolve_dtype
from pingce.core.errors import DataError, ModelError

ImageSpec = str | Path | bytes  # a local path, a data: URL, an http(s) URL, or encoded bytes
URL_TIMEOUT_S = 30.0


def load_image(spec: Any) -> Any:
    """A PIL RGB image from a local path, a `data:image/...;base64,` URL, an http(s) URL, the
    encoded bytes of an image, or a PIL image (as in an HF dataset's image column)."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(spec, Image.Image):
        return spec.convert("RGB")
    where = "image bytes"
    try:
        if isinstance(spec, bytes):
            raw = spec
        elif isinstance(spec, str) and spec.startswith("data:"):
            where = "data URL"
            head, _, payload = spec.partition(",")
            if ";base64" not in head:
                raise DataError(f"image {spec[:40]!r}...: only base64 data URLs are read")
            raw = base64.b64decode(payload, validate=True)
        elif isinstance(spec, str) and spec.startswith(("http://", "https://")):
            import urllib.request

            where = spec
            with urllib.request.urlopen(spec, timeout=URL_TIMEOUT_S) as resp:  # noqa: S310
                raw = resp.read()
        elif isinstance(spec, (str, Path)):
            where = str(spec)
            raw = Path(spec).read_bytes()
        else:
            raise DataError(f"image of type {type(spec).__name__} is not a path, URL or bytes")
        return Image.open(io.BytesIO(raw)).convert("RGB")
    except (FileNotFoundError, IsADirectoryError):
        raise DataError(f"image {where}: file not found") from None
    except (binascii.Error, ValueError):
        raise DataError(f"image {where}: not valid base64") from None
    except UnidentifiedImageError:
        raise DataError(f"image {where}: not an image PIL can read") from None
    except OSError as exc:
        raise DataError(f"image {where}: cannot be read ({exc})") from None


@dataclass(frozen=True)
class VisionRequest:
    """One question about `images` (each an `ImageSpec`), answered by generation."""

    question: str
    images: tuple[Any, ...] = ()
    params: GenerationParams = field(default_factory=GenerationParams)


class HFVisionLM:
    """A local vision-language checkpoint: `generate` answers `VisionRequest`s one at a time."""

    def __init__(self, path: str | Path, device: str = "cpu", dtype: str = "auto") -> None:
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.path = Path(path)
        if not (self.path / "config.json").is_file():
            raise ModelError(f"hf vision model {path}: no config.json in that folder", hint="point at a local checkpoint folder; pingce does not download models")  # fmt: skip
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        try:
            self.processor = AutoProcessor.from_pretrained(self.path, local_files_only=True)
            self.model = AutoModelForImageTextToText.from_pretrained(
                self.path, local_files_only=True, dtype=self.dtype
            )
        except (OSError, ValueError, KeyError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"hf vision model {path}: cannot be loaded as an image-text-to-text model ({first})") from None  # fmt: skip
        if getattr(self.processor, "chat_template", None) is None:
            raise ModelError(f"hf vision model {path}: its processor has no chat template", hint="a vision-language checkpoint places images through its chat template")  # fmt: skip
        self.model.to(self.device).eval()
        self._torch = torch

    def fingerprint(self) -> dict[str, Any]:
        return {"backend": "hf-vision", "path": str(self.path), "files_sha256": model_files_digest(self.path), "dtype": str(self.dtype).removeprefix("torch.")}  # fmt: skip

    def prompt(self, question: str, n_images: int) -> str:
        """The chat-templated prompt text for one user turn with `n_images` images first."""
        content = [{"type": "image"} for _ in range(n_images)] + [{"type": "text", "text": question}]  # fmt: skip
        messages = [{"role": "user", "content": content}]
        return self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)  # fmt: skip

    def inputs(self, request: VisionRequest) -> Any:
        """The processor's tensors for one request (prompt tokens with image tokens expanded,
        pixel values)."""
        images = [load_image(spec) for spec in request.images]
        text = self.prompt(request.question, len(images))
        kwargs: dict[str, Any] = {"text": [text], "return_tensors": "pt"}
        if images:
            kwargs["images"] = [images]
        return self.processor(**kwargs).to(self.device)

    def generate(self, requests: Sequence[VisionRequest]) -> list[Generation]:
        return [self._generate_one(r) for r in requests]

    def _generate_one(self, request: VisionRequest) -> Generation:
        torch = self._torch
        params = request.params
        batch = self.inputs(request)
        n_in = int(batch["input_ids"].shape[1])
        tok = self.processor.tokenizer
        gen_kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_new_tokens,
            "do_sample": not params.greedy,
            "pad_token_id": tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
        }
        if not params.greedy:
            gen_kwargs.update(temperature=params.temperature, top_p=params.top_p)
            torch.manual_seed(params.seed)
        else:  # explicit, so a saved generation_config cannot switch sampling on
            gen_kwargs.update(temperature=None, top_p=None, top_k=None)
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(**batch, **gen_kwargs)
        seconds = time.perf_counter() - start
        new = out[0, n_in:]
        finish = "stop" if tok.eos_token_id is not None and tok.eos_token_id in new.tolist() else "length"  # fmt: skip
        text = tok.decode(new, skip_special_tokens=True)
        for stop in params.until:
            if stop and stop in text:
                text, finish = text[: text.index(stop)], "stop"
        gen = Generation(text=text, tokens_in=n_in, tokens_out=int(new.shape[0]), seconds=seconds, finish_reason=finish)  # fmt: skip
        return repaired_generation(gen)
