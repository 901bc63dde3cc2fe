"""The llm standard on the Ray executor: one backend replica per Ray actor.

`LLMStandard.execute` opens a `RayPool` (pingce.core.ray_executor) when the `executor`
option asks for Ray, and hands each task's units to it with `task_factory(...)`: a picklable
recipe that, inside an actor, opens the run's subject once per actor (an HF model, or an
API client), checks that its fingerprint is the driver's, and returns the task's
`handler.run(lm, units)`. Outcomes flow back to the driver, which writes the records.

Options read: `executor` (local | ray | ray://HOST:PORT), `ray_actors` (default: what the
cluster holds), `ray_num_cpus` (per actor, default 1), `ray_num_gpus` (per actor; default
one GPU per HF model when the cluster has GPUs, none for API clients).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from pingce.core.errors import ModelError, SpecError
from pingce.core.execute import Outcome, WorkUnit
from pingce.core.fingerprint import content_hash
from pingce.core.ray_executor import Process, RayPool, RaySettings, parse_executor
from pingce.core.standard import RunContext

# In each actor process: the backends opened there, by (subject, options) hash, so a model
# loads once per actor however many tasks the run has.
_REPLICAS: dict[str, Any] = {}
LOCAL_BACKENDS = frozenset({"hf"})  # backends that hold a model (a GPU each, when there are)


def _number(options: dict[str, Any], name: str, default: float | None) -> float | None:
    value = options.get(name, default)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"option {name} must be a number, got {value!r}") from None
    if number < 0:
        raise SpecError(f"option {name} must not be negative, got {value!r}")
    return number


def ray_settings(options: dict[str, Any], scheme: str) -> RaySettings | None:
    """The pool's settings from run options, or None for the local executor."""
    address = parse_executor(options.get("executor"))
    if address is None:
        return None
    actors = _number(options, "ray_actors", None)
    gpus = _number(options, "ray_num_gpus", None if scheme in LOCAL_BACKENDS else 0.0)
    return RaySettings(
        address=address or None,
        actors=int(actors) if actors else None,
        num_cpus=_number(options, "ray_num_cpus", 1.0) or 1.0,
        num_gpus=gpus,
    )


def open_pool(ctx: RunContext) -> RayPool | None:
    """A started pool for this run (the caller closes it), or None for the local executor."""
    scheme = ctx.store.get_run(ctx.run_id).subject.split(":", 1)[0]
    settings = ray_settings(ctx.options, scheme)
    return None if settings is None else RayPool(settings).start()


def task_factory(ctx: RunContext, pool: RayPool, handler: Any) -> partial[Process]:
    """What an actor needs to process one task's chunks (picklable; no model inside)."""
    subject = ctx.store.get_run(ctx.run_id).subject
    # The request cache travels only where the actors can reach the driver's store: a
    # local Ray and a SQLite file, or any Ray and a database server.
    store_url = _shared_store_url(ctx.store.url, local=pool.settings.address is None)
    options = dict(ctx.options)
    threads = getattr(ctx.subject, "threads", None)
    if isinstance(threads, int) and options.get("threads") is None:
        # The driver's thread count, not the actor node's default: CPU kernels may sum in
        # another order with other thread counts, and numbers must match the local run.
        options["threads"] = threads
    return partial(
        replica_process,
        subject,
        options,
        content_hash(ctx.subject.fingerprint()),
        handler,
        store_url,
    )


def _shared_store_url(url: str, *, local: bool) -> str | None:
    """The store URL as actors can open it, or None where they cannot (or should not: a
    URL with credentials is not shipped to the cluster)."""
    if "@" in url:
        return None
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if not local or not path or path.startswith(":memory:"):
            return None
        return f"sqlite:///{Path(path).resolve()}"
    return url


def replica_process(
    subject: str,
    options: dict[str, Any],
    fingerprint: str,
    handler: Any,
    store_url: str | None,
) -> Process:
    """Runs in an actor: this actor's replica of the subject, bound to the task's handler."""
    key = content_hash(subject, options)
    lm = _REPLICAS.get(key)
    if lm is None:
        from pingce.backends import register as register_backends
        from pingce.core.registry import backends
        from pingce.core.spec import parse_subject

        register_backends()  # only the backends: an actor needs no standard's plugin
        spec = parse_subject(subject)
        opener = backends.get_loaded(spec.scheme)
        if opener is None:
            raise ModelError(f"no {spec.scheme!r} backend on this Ray actor")
        lm = opener(spec, options)
        if content_hash(lm.fingerprint()) != fingerprint:
            raise ModelError(
                f"the subject {subject!r} opened on a Ray actor differs from the driver's "
                "(another model file or server behind the same name)",
                hint="make the model files identical on every node",
            )
        if store_url and hasattr(lm, "use_store"):
            from pingce.core.store import open_store

            lm.use_store(open_store(store_url))
        _REPLICAS[key] = lm
    return partial(_run_handler, handler, lm)


def _run_handler(handler: Any, lm: Any, units: list[WorkUnit]) -> list[Outcome]:
    outcomes: list[Outcome] = handler.run(lm, units)
    return outcomes
