"""Causal language models loaded locally with Hugging Face transformers.

Tokenisation follows lm-evaluation-harness exactly so the numbers agree with it: a pair is
encoded whole and split at the length of the encoded context, trailing context whitespace moves
to the continuation, and an empty context is replaced by the prefix token (BOS, else EOS).

Multiple-choice requests that share a context are scored with prefix sharing: the context runs
through the model once, its key/value cache is repeated for each continuation, and only the
continuation tokens run again (docs/design/prefix-sharing.md).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pingce.backends.base import (
    Generation,
    GenerationParams,
    GenerationRequest,
    LoglikelihoodResult,
    RollingResult,
)
from pingce.core.errors import ModelError

DTYPES = ("auto", "float32", "bfloat16", "float16")
DEVICES = ("auto", "cpu", "cuda", "mps")
# Hash whole weight files below this size; above it, size + head + tail (a full read of a
# 15 GB checkpoint for a cache key would cost more than the evaluation).
FULL_HASH_LIMIT = 512 * 2**20


def default_threads() -> int:
    """Physical-ish core count: torch's default oversubscribes small machines under load."""
    return max(1, min(os.cpu_count() or 1, 8))


def resolve_device(device: str) -> str:
    import torch

    if device not in DEVICES:
        raise ModelError(f"unknown device {device!r}", hint=f"use one of {', '.join(DEVICES)}")
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError("--device cuda was asked for but torch sees no CUDA GPU")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ModelError("--device mps was asked for but this machine has no MPS device")
    return device


def resolve_dtype(dtype: str, device: str) -> Any:
    import torch

    if dtype not in DTYPES:
        raise ModelError(f"unknown dtype {dtype!r}", hint=f"use one of {', '.join(DTYPES)}")
    if dtype == "auto":
        # bf16 on CPU is emulated and slow on most x86 parts; keep float32 there.
        return torch.float32 if device == "cpu" else torch.bfloat16
    return getattr(torch, dtype)


def model_files_digest(path: Path) -> str:
    """Content digest of a local model folder (config, tokenizer, weights)."""
    h = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel.startswith(".") or "/." in rel:
            continue
        size = file.stat().st_size
        h.update(f"{rel}\0{size}\0".encode())
        with file.open("rb") as fh:
            if size <= FULL_HASH_LIMIT:
                for block in iter(lambda fh=fh: fh.read(2**20), b""):
                    h.update(block)
            else:
                h.update(fh.read(2**20))
                fh.seek(size - 2**20)
                h.update(fh.read(2**20))
    return h.hexdigest()


class HFCausalLM:
    """A transformers causal LM behind the `LanguageModel` protocol."""

    def __init__(
        self,
        model: str,
        *,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int | str = 16,
        max_length: int | None = None,
        threads: int | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
    ) -> None:
        import torch

        self.threads = threads or default_threads()
        torch.set_num_threads(self.threads)
        self.name = model
        self.device = resolve_device(device)
        self.torch_dtype = resolve_dtype(dtype, self.device)
        local = Path(model).expanduser()
        if local.exists() or model.startswith((".", "/", "~")):
            if not local.exists():
                raise ModelError(f"model path {model!r} does not exist")
            if not local.is_dir() or not (local / "config.json").is_file():
                raise ModelError(
                    f"{model!r} is not a Hugging Face model folder (no config.json)",
                    hint="point --model hf:PATH at a folder saved by save_pretrained",
                )
            source: str = str(local.resolve())
            self._digest = model_files_digest(local)
        else:
            source = model
            self._digest = f"hub:{model}@{revision or 'main'}"
        self.tokenizer, self.model = self._load(source, trust_remote_code, revision)
        self.model.to(self.device)
        self.model.eval()
        # transformers 5.x renamed the cache argument and output; support both spellings.
        params = inspect.signature(self.model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        tok = self.tokenizer
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token if tok.eos_token is not None else tok.unk_token
        self.eot_token_id: int = tok.eos_token_id if tok.eos_token_id is not None else 0
        self.prefix_token_id: int = (
            tok.bos_token_id if tok.bos_token_id is not None else self.eot_token_id
        )
        self.max_length = max_length or self._detect_max_length()
        self.batch_size = self._parse_batch_size(batch_size)

    # ---- loading ----------------------------------------------------------------------
    def _load(self, source: str, trust_remote_code: bool, revision: str | None) -> tuple[Any, Any]:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
        if revision:
            kwargs["revision"] = revision
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(source, dtype=self.torch_dtype, **kwargs)
        except (OSError, ValueError, KeyError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(
                f"cannot load model {source!r}: {first}",
                hint="check the path or hub id; hub ids need network access",
            ) from None
        return tokenizer, model

    def _detect_max_length(self) -> int:
        config = self.model.config
        for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
            value = getattr(config, attr, None)
            if isinstance(value, int) and value > 0:
                return value
        tml = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(tml, int) and 0 < tml < 10**9:
            return tml
        return 2048

    def _parse_batch_size(self, batch_size: int | str) -> int:
        if batch_size == "auto":
            return 32 if self.device != "cpu" else 16
        try:
            value = int(batch_size)
        except (TypeError, ValueError):
            raise ModelError(
                f"--batch-size must be a positive integer or 'auto', got {batch_size!r}"
            ) from None
        if value < 1:
            raise ModelError(
                f"--batch-size must be a positive integer or 'auto', got {batch_size!r}"
            )
        return value

    def fingerprint(self) -> dict[str, Any]:
        return {
            "backend": "hf",
            "model": self.name,
            "digest": self._digest,
            "dtype": str(self.torch_dtype).removeprefix("torch."),
            "device": self.device,
            "max_length": self.max_length,
        }

    def settings(self) -> dict[str, Any]:
        """Effective settings recorded with the run (not part of record keys)."""
        return {"batch_size": self.batch_size, "threads": self.threads, **self.fingerprint()}

    # ---- tokenisation (lm-eval compatible) ---------------------------------------------
    def tok_encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text))

    def count_tokens(self, text: str) -> int:
        return len(self.tok_encode(text))

    def chat_prompt(self, messages: Sequence[dict[str, str]]) -> str:
        if not getattr(self.tokenizer, "chat_template", None):
            raise ModelError(
                f"the suite asks for a chat template but {self.name!r} has none",
                hint="set chat_template: false in the task, or use an instruction-tuned model",
            )
        text: str = self.tokenizer.apply_chat_template(
            list(messages), tokenize=False, add_generation_prompt=True
        )
        return text

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        if not context:
            cont = self.tok_encode(continuation)
            if cont and cont[0] == self.prefix_token_id:
                return cont[:1], cont[1:]
            return [self.prefix_token_id], cont
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces:
            continuation = context[-n_spaces:] + continuation
            context = context[:-n_spaces]
        whole = self.tok_encode(context + continuation)
        ctx = self.tok_encode(context)
        return ctx, whole[len(ctx) :]

    # ---- loglikelihood with prefix sharing ---------------------------------------------
    def loglikelihood(self, requests: Sequence[tuple[str, str]]) -> list[LoglikelihoodResult]:
        encoded = [self.encode_pair(c, x) for c, x in requests]
        return self.loglikelihood_tokens(encoded)

    def loglikelihood_tokens(
        self, encoded: Sequence[tuple[list[int], list[int]]]
    ) -> list[LoglikelihoodResult]:
        results: list[LoglikelihoodResult | None] = [None] * len(encoded)
        groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
        overflow: list[int] = []
        for i, (ctx, cont) in enumerate(encoded):
            if not cont:
                results[i] = LoglikelihoodResult(0.0, True, 0)
            elif len(ctx) + len(cont) - 1 > self.max_length:
                overflow.append(i)
            else:
                groups[tuple(ctx)].append(i)
        # Longest contexts first: the first batch shows memory trouble early, as lm-eval does.
        ordered = sorted(groups.items(), key=lambda kv: (-len(kv[0]), kv[0]))
        for start in range(0, len(ordered), self.batch_size):
            batch = ordered[start : start + self.batch_size]
            for i, res in self._score_shared(batch, encoded).items():
                results[i] = res
        for i in overflow:
            results[i] = self._score_truncated(*encoded[i])
        return [r for r in results if r is not None] if None not in results else _missing()

    def _score_shared(
        self,
        batch: list[tuple[tuple[int, ...], list[int]]],
        encoded: Sequence[tuple[list[int], list[int]]],
    ) -> dict[int, LoglikelihoodResult]:
        import torch

        dev = self.device
        pad = self.tokenizer.pad_token_id
        ctx_lens = [len(ctx) for ctx, _ in batch]
        width = max(ctx_lens)
        ctx_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        ctx_mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (ctx, _) in enumerate(batch):
            ctx_ids[row, : len(ctx)] = torch.tensor(ctx)
            ctx_mask[row, : len(ctx)] = 1
        out: dict[int, LoglikelihoodResult] = {}
        with torch.inference_mode():
            first = self.model(
                input_ids=ctx_ids.to(dev), attention_mask=ctx_mask.to(dev), use_cache=True
            )
            last_pos = torch.tensor(ctx_lens) - 1
            first_logp = torch.log_softmax(
                first.logits[torch.arange(len(batch)), last_pos.to(dev)].float(), dim=-1
            )
            # One row per continuation, pointing back at its group's cached context.
            owners: list[int] = []
            conts: list[list[int]] = []
            ids: list[int] = []
            for row, (_, members) in enumerate(batch):
                for i in members:
                    owners.append(row)
                    conts.append(encoded[i][1])
                    ids.append(i)
            rest_len = max(len(c) for c in conts) - 1
            rest_logp = None
            if rest_len > 0:
                owner_idx = torch.tensor(owners, device=dev)
                cache = getattr(first, self._cache_arg)
                cache.reorder_cache(owner_idx)
                rest_ids = torch.full((len(conts), rest_len), pad, dtype=torch.long)
                rest_mask = torch.zeros((len(conts), rest_len), dtype=torch.long)
                for r, cont in enumerate(conts):
                    n = len(cont) - 1
                    if n:
                        rest_ids[r, :n] = torch.tensor(cont[:-1])
                        rest_mask[r, :n] = 1
                starts = torch.tensor([ctx_lens[o] for o in owners])
                positions = starts[:, None] + torch.arange(rest_len)[None, :]
                mask = torch.cat([ctx_mask[owners], rest_mask], dim=1)
                second = self.model(
                    input_ids=rest_ids.to(dev),
                    attention_mask=mask.to(dev),
                    position_ids=positions.to(dev),
                    use_cache=True,
                    **{self._cache_arg: cache},
                )
                rest_logp = second.logits.float()
            for r, (i, cont) in enumerate(zip(ids, conts, strict=True)):
                logp_first = first_logp[owners[r]]
                total = float(logp_first[cont[0]])
                greedy = bool(int(logp_first.argmax()) == cont[0])
                if len(cont) > 1 and rest_logp is not None:
                    n = len(cont) - 1
                    lp = torch.log_softmax(rest_logp[r, :n], dim=-1)
                    target = torch.tensor(cont[1:], device=lp.device)
                    total += float(lp.gather(1, target[:, None]).sum())
                    greedy = greedy and bool((lp.argmax(dim=-1) == target).all())
                out[i] = LoglikelihoodResult(total, greedy, len(cont), len(encoded[i][0]))
        return out

    def _score_truncated(self, ctx: list[int], cont: list[int]) -> LoglikelihoodResult:
        """lm-eval's left truncation for a pair longer than the model's window."""
        import torch

        seq = (ctx + cont)[-(self.max_length + 1) :][:-1]
        with torch.inference_mode():
            logits = self.model(input_ids=torch.tensor([seq], device=self.device)).logits[0]
        lp = torch.log_softmax(logits[-len(cont) :].float(), dim=-1)
        target = torch.tensor(cont, device=lp.device)
        total = float(lp.gather(1, target[:, None]).sum())
        greedy = bool((lp.argmax(dim=-1) == target).all())
        return LoglikelihoodResult(total, greedy, len(cont), len(ctx))

    # ---- rolling loglikelihood (perplexity) --------------------------------------------
    def rolling_windows(self, tokens: list[int]) -> list[tuple[list[int], list[int]]]:
        """Disjoint windows that predict every token once, each with the longest context that
        fits (the first token is predicted from the prefix token)."""
        windows: list[tuple[list[int], list[int]]] = []
        width = self.max_length
        done = 0
        while done < len(tokens):
            end = min(done + width, len(tokens))
            target = tokens[done:end]
            history = ([self.prefix_token_id] + tokens)[max(0, end - width) : done + 1]
            windows.append((history, target))
            done = end
        return windows

    def loglikelihood_rolling(self, texts: Sequence[str]) -> list[RollingResult]:
        encoded: list[tuple[list[int], list[int]]] = []
        owners: list[int] = []
        counts: list[int] = []
        for t, text in enumerate(texts):
            tokens = self.tok_encode(text)
            counts.append(len(tokens))
            for ctx, target in self.rolling_windows(tokens):
                encoded.append((ctx, target))
                owners.append(t)
        totals = [0.0] * len(texts)
        for owner, res in zip(owners, self.loglikelihood_tokens(encoded), strict=True):
            totals[owner] += res.logprob
        return [RollingResult(totals[t], counts[t]) for t in range(len(texts))]

    # ---- generation -------------------------------------------------------------------
    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        results: list[Generation | None] = [None] * len(requests)
        by_params: dict[GenerationParams, list[int]] = defaultdict(list)
        for i, req in enumerate(requests):
            by_params[req.params].append(i)
        for params, members in by_params.items():
            encoded = {i: self.tok_encode(requests[i].context) for i in members}
            order = sorted(members, key=lambda i: (-len(encoded[i]), requests[i].context))
            # Sampled requests run one at a time with their own seed, so a request's output
            # never depends on which others shared its batch.
            step = self.batch_size if params.greedy else 1
            for start in range(0, len(order), step):
                chunk = order[start : start + step]
                outs = self._generate_batch([encoded[i] for i in chunk], params)
                for i, gen in zip(chunk, outs, strict=True):
                    results[i] = gen
        return [r for r in results if r is not None] if None not in results else _missing()

    def _generate_batch(
        self, contexts: list[list[int]], params: GenerationParams
    ) -> list[Generation]:
        import torch
        from transformers import GenerationConfig, StoppingCriteria, StoppingCriteriaList

        max_ctx = self.max_length - params.max_new_tokens
        if max_ctx <= 0:
            raise ModelError(
                f"max_new_tokens {params.max_new_tokens} leaves no room for a prompt in the "
                f"model's {self.max_length}-token window"
            )
        contexts = [c[-max_ctx:] if len(c) > max_ctx else c for c in contexts]
        if any(not c for c in contexts):
            contexts = [c or [self.prefix_token_id] for c in contexts]
        width = max(len(c) for c in contexts)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(contexts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(contexts), width), dtype=torch.long)
        for row, ctx in enumerate(contexts):  # left padding
            ids[row, width - len(ctx) :] = torch.tensor(ctx)
            mask[row, width - len(ctx) :] = 1
        tokenizer = self.tokenizer
        stops = [s for s in params.until if s]

        class StopOnStrings(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                new = input_ids[:, width:]
                texts = tokenizer.batch_decode(new, skip_special_tokens=True)
                return torch.tensor(
                    [any(s in t for s in stops) for t in texts], device=input_ids.device
                )

        config = GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            do_sample=not params.greedy,
            temperature=params.temperature if not params.greedy else None,
            top_p=params.top_p if not params.greedy else None,
            top_k=None,
            num_beams=1,
            eos_token_id=self.eot_token_id,
            pad_token_id=pad,
            bos_token_id=self.prefix_token_id,
        )
        if not params.greedy:
            torch.manual_seed(params.seed)
        started = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids.to(self.device),
                attention_mask=mask.to(self.device),
                generation_config=config,
                stopping_criteria=StoppingCriteriaList([StopOnStrings()]) if stops else None,
            )
        seconds = (time.perf_counter() - started) / len(contexts)
        gens = []
        for row, ctx in enumerate(contexts):
            new = out[row, width:].tolist()
            if self.eot_token_id in new:
                new = new[: new.index(self.eot_token_id)]
                reason = "stop"
            else:
                reason = "length"
            text = tokenizer.decode(new, skip_special_tokens=True)
            cut = min((text.index(s) for s in stops if s in text), default=None)
            if cut is not None:
                text = text[:cut]
                reason = "stop"
            gens.append(Generation(text, len(ctx), len(new), seconds, reason))
        return gens


def _missing() -> Any:  # pragma: no cover - guards a bookkeeping bug
    raise AssertionError("a request produced no result")


def describe_model_folder(path: Path) -> dict[str, Any]:
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    return {"model_type": config.get("model_type"), "architectures": config.get("architectures")}
