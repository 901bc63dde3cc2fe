"""Causal language models loaded locally with Hugging Face transformers.

Tokenisation follows lm-evaluation-harness exactly so the numbers agree with it: a pair is
encoded whole and split at the length of the encoded context, trailing context whitespace moves
to the continuation, and an empty context is replaced by the prefix token (BOS, else EOS).

Multiple-choice requests that share a context are scored with prefix sharing: the context runs
through the model once and only the continuation tokens run again, over the context's key/value
cache (packed one row per context where the model allows, else the cache is repeated for each
continuation; docs/design/prefix-sharing.md).
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
    repaired_generation,
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
        weight_only: str = "auto",
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
        self.weight_only = self._weight_only_hook(
            weight_only, Path(source) if local.exists() else None
        )
        # transformers 5.x renamed the cache argument and output; support both spellings.
        params = inspect.signature(self.model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        # Models that can project selected positions only onto the vocabulary.
        self._logits_to_keep = "logits_to_keep" in params
        # Continuations scored packed per context (None: not yet checked on this model).
        self._packed: bool | None = None
        tok = self.tokenizer
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token if tok.eos_token is not None else tok.unk_token
        self.eot_token_id: int = tok.eos_token_id if tok.eos_token_id is not None else 0
        self.prefix_token_id: int = (
            tok.bos_token_id if tok.bos_token_id is not None else self.eot_token_id
        )
        self.max_length = max_length or self._detect_max_length()
        self.batch_size = self._parse_batch_size(batch_size)
        self.ignored_generation_config = self._neutralise_generation_config()

    def _neutralise_generation_config(self) -> dict[str, Any]:
        """Replace the model's saved generation defaults with neutral ones; return what was dropped.

        transformers fills every decoding setting a caller leaves at its default from the
        model's `generation_config.json` (repetition_penalty, top_k, no_repeat_ngram_size, ...),
        so a checkpoint's saved defaults would silently change a run. pingce passes every
        parameter it uses explicitly and records the ignored defaults with the run.
        """
        from transformers import GenerationConfig

        saved = getattr(self.model, "generation_config", None)
        dropped: dict[str, Any] = {}
        if saved is not None:
            dropped = {
                k: v
                for k, v in saved.to_diff_dict().items()
                if k not in {"transformers_version", "eos_token_id", "pad_token_id", "bos_token_id"}
            }
        self.model.generation_config = GenerationConfig(
            eos_token_id=self.eot_token_id,
            pad_token_id=self.tokenizer.pad_token_id,
            bos_token_id=self.prefix_token_id,
        )
        return dropped

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

    def _weight_only_hook(self, mode: str, folder: Path | None) -> str:
        """Run the INT8/INT4 weight-only kernels of a folder written by `pingce compress llm`
        (pingce.models.weight_only_kernels); returns "kernels" or "dequantised". A folder
        without the kernel manifest, or mode "dequantised", leaves the model untouched."""
        if mode == "dequantised" or (folder is None and mode == "auto"):
            return "dequantised"
        from pingce.models.weight_only_kernels import KernelError, apply_weight_only

        if folder is None:
            raise ModelError(f"weight_only={mode} needs a local model folder, not {self.name!r}")
        try:
            return apply_weight_only(self.model, folder, mode, self.device)
        except KernelError as exc:
            raise ModelError(f"weight_only={mode}: {exc}") from None

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
        fp = {
            "backend": "hf",
            "model": self.name,
            "digest": self._digest,
            "dtype": str(self.torch_dtype).removeprefix("torch."),
            "device": self.device,
            "max_length": self.max_length,
        }
        if self.weight_only == "kernels":  # bf16 kernel activations: other numbers
            fp["weight_only"] = "kernels"
        return fp

    def settings(self) -> dict[str, Any]:
        """Effective settings recorded with the run (not part of record keys)."""
        return {
            "batch_size": self.batch_size,
            "threads": self.threads,
            **self.fingerprint(),
            "ignored_generation_config": self.ignored_generation_config,
        }

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

    def encode_pair(
        self,
        context: str,
        continuation: str,
        ctx_cache: dict[str, list[int]] | None = None,
    ) -> tuple[list[int], list[int]]:
        """lm-eval's `_encode_pair`. `ctx_cache` (context text -> tokens) lets the choices of
        one question encode their shared context once; the result is the same either way."""
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
        if ctx_cache is None:
            ctx = self.tok_encode(context)
        else:
            ctx = ctx_cache.get(context)  # type: ignore[assignment]
            if ctx is None:
                ctx = ctx_cache[context] = self.tok_encode(context)
        return list(ctx), whole[len(ctx) :]

    # ---- loglikelihood with prefix sharing ---------------------------------------------
    def loglikelihood(self, requests: Sequence[tuple[str, str]]) -> list[LoglikelihoodResult]:
        ctx_cache: dict[str, list[int]] = {}
        encoded = [self.encode_pair(c, x, ctx_cache) for c, x in requests]
        return self.loglikelihood_tokens(encoded)

    def loglikelihood_tokens(
        self, encoded: Sequence[tuple[list[int], list[int]]]
    ) -> list[LoglikelihoodResult]:
        results: list[LoglikelihoodResult | None] = [None] * len(encoded)
        groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
        overflow: list[int] = []
        # Identical pairs are scored once and share the result (lm-eval too computes a
        # repeated request once), so two identical choices tie exactly.
        first_of: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}
        repeats: list[tuple[int, int]] = []
        for i, (ctx, cont) in enumerate(encoded):
            key = (tuple(ctx), tuple(cont))
            if key in first_of:
                repeats.append((i, first_of[key]))
                continue
            first_of[key] = i
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
        for i, j in repeats:
            results[i] = results[j]
        return [r for r in results if r is not None] if None not in results else _missing()

    def _score_shared(
        self,
        batch: list[tuple[tuple[int, ...], list[int]]],
        encoded: Sequence[tuple[list[int], list[int]]],
    ) -> dict[int, LoglikelihoodResult]:
        import torch

        dev = self.device
        ctx_lens = [len(ctx) for ctx, _ in batch]
        # One row per continuation, pointing back at its group's cached context.
        owners: list[int] = []
        conts: list[list[int]] = []
        ids: list[int] = []
        for row, (_, members) in enumerate(batch):
            for i in members:
                owners.append(row)
                conts.append(encoded[i][1])
                ids.append(i)
        n_rows = len(conts)
        rest_len = max(len(c) for c in conts) - 1
        owner_idx = torch.tensor(owners, device=dev)
        with torch.inference_mode():
            first_logp, cache, ctx_mask = self._context_pass([ctx for ctx, _ in batch])
            # Per continuation token: its log-probability, and whether it was the argmax.
            cont_mask = torch.zeros((n_rows, rest_len + 1), dtype=torch.bool)
            targets = torch.zeros((n_rows, rest_len + 1), dtype=torch.long)
            for r, cont in enumerate(conts):
                targets[r, : len(cont)] = torch.tensor(cont)
                cont_mask[r, : len(cont)] = True
            targets = targets.to(dev)
            cont_mask = cont_mask.to(dev)
            token_lp = torch.zeros((n_rows, rest_len + 1), dtype=first_logp.dtype, device=dev)
            token_ok = torch.ones((n_rows, rest_len + 1), dtype=torch.bool, device=dev)
            # The first continuation token is predicted by the context's last logits.
            owner_logp = first_logp[owner_idx]
            token_lp[:, 0] = owner_logp.gather(1, targets[:, :1]).squeeze(1)
            token_ok[:, 0] = owner_logp.argmax(dim=-1) == targets[:, 0]
            if rest_len > 0:
                # Logits at the positions that predict continuation tokens 2.., in row-major
                # order of `needed`; log_softmax only there.
                if self._packed is None:
                    self._packed = self._check_packing()
                rest_pass = self._rest_packed if self._packed else self._rest_repeated
                rest = rest_pass(cache, conts, owners, ctx_lens, ctx_mask)
                logp = torch.log_softmax(rest.float(), dim=-1)
                del rest
                needed = cont_mask[:, 1:]
                want = targets[:, 1:][needed]
                token_lp[:, 1:][needed] = logp.gather(1, want[:, None]).squeeze(1)
                token_ok[:, 1:][needed] = logp.argmax(dim=-1) == want
            # One float32 sum over the continuation's tokens, as lm-eval takes it.
            totals = torch.where(cont_mask, token_lp, 0.0).sum(dim=1).tolist()
            greedy = token_ok.all(dim=1).tolist()
        return {
            i: LoglikelihoodResult(float(totals[r]), bool(greedy[r]), len(conts[r]), ctx_lens[o])
            for r, (i, o) in enumerate(zip(ids, owners, strict=True))
        }

    def _context_pass(self, contexts: list[Sequence[int]]) -> tuple[Any, Any, Any]:
        """Run contexts once (right-padded): log-probabilities at each row's last token
        `[rows, vocab]` (float32), the key/value cache, and the 0/1 padding mask (CPU)."""
        import torch

        dev = self.device
        ctx_lens = [len(ctx) for ctx in contexts]
        width = max(ctx_lens)
        ctx_ids = torch.full((len(contexts), width), self.tokenizer.pad_token_id, dtype=torch.long)
        ctx_mask = torch.zeros((len(contexts), width), dtype=torch.long)
        for row, ctx in enumerate(contexts):
            ctx_ids[row, : len(ctx)] = torch.tensor(ctx)
            ctx_mask[row, : len(ctx)] = 1
        # Only the last context position of each row is scored in this pass: ask for the
        # logits there alone instead of projecting every context token onto the vocabulary.
        last_pos = torch.tensor(ctx_lens) - 1
        keep = torch.unique(last_pos)  # sorted
        # No attention mask: with right padding and causal attention no context token can see
        # the padding after it (lm-eval calls the model the same way). The padding's cache
        # entries are masked out in the continuation pass.
        inputs = {"input_ids": ctx_ids.to(dev), "use_cache": True}
        out = None
        if self._logits_to_keep:
            try:
                out = self.model(**inputs, logits_to_keep=keep.to(dev))
            except (TypeError, ValueError):  # a model that takes an int only
                self._logits_to_keep = False
        if out is None:
            out = self.model(**inputs)
        logits = out.logits
        col = torch.searchsorted(keep, last_pos) if logits.shape[1] == len(keep) else last_pos
        logp = torch.log_softmax(logits[torch.arange(len(contexts)), col.to(dev)].float(), dim=-1)
        return logp, getattr(out, self._cache_arg), ctx_mask

    def _check_packing(self) -> bool:
        """Whether packed continuations give the repeated path's numbers on this model.

        Continuations are packed (one row per context, a 4-D mask keeps them apart) where the
        model supports it, else the cache is repeated once per continuation. Once per model,
        both run on a small fixed batch (two contexts of different lengths, two multi-token
        continuations each); packing is kept only if they agree, so a model that handles
        custom masks or positions its own way falls back for good. The outcome depends on the
        model alone, never on the data, so a resumed run takes the same path."""
        if not self._packing_supported():
            return False
        import copy

        import torch

        n_vocab = int(self.model.get_input_embeddings().num_embeddings)
        tokens = torch.randint(0, n_vocab, (24,), generator=torch.Generator().manual_seed(0))
        t = tokens.tolist()
        contexts, ctx_lens = [t[:7], t[7:10]], [7, 3]
        conts, owners = [t[10:14], t[14:17], t[17:22], t[22:24]], [0, 0, 1, 1]
        with torch.inference_mode():
            _, cache, ctx_mask = self._context_pass(contexts)
            reference = self._rest_repeated(copy.deepcopy(cache), conts, owners, ctx_lens, ctx_mask)
            try:
                packed = self._rest_packed(cache, conts, owners, ctx_lens, ctx_mask)
            except Exception:  # a model that rejects 4-D masks or explicit positions
                return False
            return packed.shape == reference.shape and _close(packed, reference, self.torch_dtype)

    def _packing_supported(self) -> bool:
        """Attention that takes an additive 4-D mask, and no sliding-window or chunked layers
        (a custom mask replaces the model's own window)."""
        config = self.model.config
        if getattr(config, "_attn_implementation", None) not in ("sdpa", "eager"):
            return False
        layer_types = getattr(config, "layer_types", None) or []
        if any(t != "full_attention" for t in layer_types):
            return False
        return not (
            getattr(config, "sliding_window", None) and getattr(config, "use_sliding_window", True)
        )

    def _rest_repeated(
        self,
        cache: Any,
        conts: list[list[int]],
        owners: list[int],
        ctx_lens: list[int],
        ctx_mask: Any,
    ) -> Any:
        """One row per continuation over a copy of its context's cache (right padding)."""
        import torch

        dev = self.device
        pad = self.tokenizer.pad_token_id
        rest_len = max(len(c) for c in conts) - 1
        owner_idx = torch.tensor(owners)
        _repeat_cache(cache, owner_idx.to(dev))
        rest_ids = torch.full((len(conts), rest_len), pad, dtype=torch.long)
        rest_mask = torch.zeros((len(conts), rest_len), dtype=torch.long)
        for r, cont in enumerate(conts):
            n = len(cont) - 1
            if n:
                rest_ids[r, :n] = torch.tensor(cont[:-1])
                rest_mask[r, :n] = 1
        positions = torch.tensor(ctx_lens)[owner_idx][:, None] + torch.arange(rest_len)[None, :]
        mask = torch.cat([ctx_mask[owner_idx], rest_mask], dim=1)
        out = self.model(
            input_ids=rest_ids.to(dev),
            attention_mask=mask.to(dev),
            position_ids=positions.to(dev),
            use_cache=True,
            **{self._cache_arg: cache},
        )
        return out.logits[rest_mask.bool().to(dev)]

    def _rest_packed(
        self,
        cache: Any,
        conts: list[list[int]],
        owners: list[int],
        ctx_lens: list[int],
        ctx_mask: Any,
    ) -> Any:
        """Each context row carries the inputs of all its continuations one after another
        (each continuation but its last token). A 4-D additive mask lets a token see its
        context (not the padding) and the earlier tokens of its own continuation only, and
        its position id continues from the end of its context, so every continuation is
        computed as if it ran alone after the context, without copying the cache."""
        import torch

        dev = self.device
        pad = self.tokenizer.pad_token_id
        n_ctx, width = ctx_mask.shape
        fill = [0] * n_ctx
        starts = []
        for r, cont in enumerate(conts):
            starts.append(fill[owners[r]])
            fill[owners[r]] += len(cont) - 1
        q_len = max(fill)
        ids = torch.full((n_ctx, q_len), pad, dtype=torch.long)
        positions = torch.tensor(ctx_lens)[:, None].repeat(1, q_len)
        segment = torch.full((n_ctx, q_len), -1, dtype=torch.long)  # -1: padding
        rows: list[int] = []
        cols: list[int] = []
        for r, cont in enumerate(conts):
            n = len(cont) - 1
            if not n:
                continue
            o, s = owners[r], starts[r]
            ids[o, s : s + n] = torch.tensor(cont[:-1])
            positions[o, s : s + n] = ctx_lens[o] + torch.arange(n)
            segment[o, s : s + n] = r
            rows.extend([o] * n)
            cols.extend(range(s, s + n))
        q = torch.arange(q_len)
        # Padding queries see themselves (and earlier padding): no row is fully masked.
        own = (segment[:, :, None] == segment[:, None, :]) & (q[:, None] >= q[None, :])
        sees_ctx = ctx_mask.bool()[:, None, :].expand(n_ctx, q_len, width)
        allowed = torch.cat([sees_ctx, own], dim=2)[:, None]
        dtype = self.model.dtype
        mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill_(
            ~allowed, torch.finfo(dtype).min
        )
        out = self.model(
            input_ids=ids.to(dev),
            attention_mask=mask.to(dev),
            position_ids=positions.to(dev),
            use_cache=True,
            **{self._cache_arg: cache},
        )
        return out.logits[torch.tensor(rows, device=dev), torch.tensor(cols, device=dev)]

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
            # 0 disables top-k when sampling (None would mean the library default of 50);
            # greedy decoding leaves it unset, which transformers expects.
            top_k=0 if not params.greedy else None,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
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
            hit_eos = self.eot_token_id in new
            if hit_eos:
                new = new[: new.index(self.eot_token_id)]
                reason = "stop"
            else:
                reason = "length"
                # A row that stopped (stop string) while others went on is padded to the
                # batch's length; the padding is not output.
                while new and pad != self.eot_token_id and new[-1] == pad:
                    new.pop()
            text = tokenizer.decode(new, skip_special_tokens=True)
            cut = min((text.index(s) for s in stops if s in text), default=None)
            if cut is not None:
                text = text[:cut]
                reason = "stop"
            # tokens_out counts every token generated for this output, the EOS token it stopped
            # on included (a decoding step, and what OpenAI-compatible servers count in
            # usage.completion_tokens), so local and served runs agree on identical outputs.
            # A row stopped by a stop string generated no EOS: an EOS after it is padding
            # (pad_token_id falls back to EOS).
            n_out = len(new) + int(hit_eos and cut is None)
            gens.append(repaired_generation(Generation(text, len(ctx), n_out, seconds, reason)))
        return gens


def _close(a: Any, b: Any, dtype: Any) -> bool:
    """The packed and repeated continuation passes agree (log-probabilities)."""
    import torch

    tol = 1e-4 if dtype == torch.float32 else 5e-2
    la = torch.log_softmax(a.float(), dim=-1)
    lb = torch.log_softmax(b.float(), dim=-1)
    return bool((la - lb).abs().max() <= tol)


def _repeat_cache(cache: Any, index: Any) -> None:
    """`cache.reorder_cache(index)` (row i of the result is row index[i]), done with gather
    indexing where a layer keeps plain key/value tensors: transformers' `index_select` on the
    transposed (non-contiguous) key/value tensors is an order of magnitude slower on CPU."""
    try:
        from transformers.cache_utils import CacheLayerMixin
    except ImportError:  # transformers < 4.56: no per-layer cache objects
        cache.reorder_cache(index)
        return
    layers = getattr(cache, "layers", None)
    if not isinstance(layers, list):
        cache.reorder_cache(index)
        return
    for layer in layers:
        if type(layer).reorder_cache is not CacheLayerMixin.reorder_cache:
            layer.reorder_cache(index)  # a layer type with its own state (e.g. linear attention)
        elif layer.get_seq_length() > 0:
            layer.keys = layer.keys[index.to(layer.keys.device)]
            layer.values = layer.values[index.to(layer.values.device)]


def _missing() -> Any:  # pragma: no cover - guards a bookkeeping bug
    raise AssertionError("a request produced no result")


def describe_model_folder(path: Path) -> dict[str, Any]:
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    return {"model_type": config.get("model_type"), "architectures": config.get("architectures")}
