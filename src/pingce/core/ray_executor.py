"""Execution of work units on Ray actors: one subject replica per actor, records by the driver.

`RayPool.run_units` is `pingce.core.execute.run_units` with the processing moved to a pool
of Ray actors (`executor: ray` for a local Ray, `executor: ray://HOST:PORT` for a cluster):

- the units the run has not stored yet are cut into the very chunks `run_units` would make
  (same order, same size), so a standard's per-chunk batching, and with it every number, is
  the same as on the local executor;
- each actor calls a picklable `factory()` once per `run_units` call to get its `process`
  callable (the factory is where a standard opens its replica of the subject: an HF model
  per actor, or one API client); chunks go to whichever actor is free, two at a time;
- actors return outcomes; only the driver writes records, one transaction per chunk, into
  the same store, as chunks finish;
- an actor that dies (killed, out of memory, node lost) loses nothing: its unfinished
  chunks go back to the queue, a replacement actor starts (up to `max_replacements` per
  pool), and the finished records are never written twice (a chunk is written once, and
  `Store.add_records` skips keys already stored).

The pool is started once per run and reused for every task, so a model loads once per
actor, not once per task. See docs/design/ray-executor.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import count
from typing import TYPE_CHECKING, Any

from pingce.core.errors import PingceError, SpecError
from pingce.core.execute import Outcome, WorkUnit

if TYPE_CHECKING:
    from rich.progress import Progress

    from pingce.core.store import Store

log = logging.getLogger("pingce.ray")

Process = Callable[[list[WorkUnit]], list[Outcome]]
ProcessFactory = Callable[[], Process]  # must pickle (cloudpickle): it travels to the actors

IN_FLIGHT_PER_ACTOR = 2  # the next chunk waits on the actor while the current one runs


class ExecutorError(PingceError):
    """The Ray executor cannot run (Ray missing, cluster unreachable, every actor lost)."""


@dataclass(frozen=True)
class RaySettings:
    """Where and how wide to run; none of it changes a number."""

    address: str | None = None  # None: a local Ray (started if none runs); else ray://HOST:PORT
    actors: int | None = None  # default: as many as the cluster's CPUs (or GPUs) allow
    num_cpus: float = 1.0  # per actor
    num_gpus: float | None = 0.0  # per actor; None: 1 when the cluster has GPUs, else 0
    max_replacements: int = 4  # actors started to replace dead ones, per pool


def parse_executor(value: Any) -> str | None:
    """The `executor` option: None for local, else the Ray address ("" for a local Ray).

    Accepts `local` (default), `ray`, and `ray://HOST:PORT`; anything else is a SpecError.
    """
    if value is None or value == "" or value == "local":
        return None
    if value == "ray":
        return ""
    if isinstance(value, str) and value.startswith("ray://") and len(value) > len("ray://"):
        return value
    raise SpecError(
        f"option executor must be local, ray or ray://HOST:PORT, got {value!r}",
        hint="--executor ray runs on a local Ray; --executor ray://HOST:10001 on a cluster",
    )


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorError(
            "the Ray executor needs Ray, which is not installed",
            hint="pip install 'pingce[ray]', or run without --executor",
        ) from None
    return ray


class _Replica:
    """The actor: builds each run_units call's `process` once, then processes chunks."""

    def __init__(self) -> None:
        self._processes: dict[str, Process] = {}

    def prepare(self, token: str, factory: ProcessFactory) -> int:
        if token not in self._processes:
            self._processes[token] = factory()
        return os.getpid()

    def run(self, token: str, units: list[WorkUnit]) -> list[Outcome]:
        return self._processes[token](units)

    def forget(self, token: str) -> None:
        self._processes.pop(token, None)


class RayPool:
    """A pool of `_Replica` actors on a local Ray or a cluster; use as a context manager."""

    def __init__(self, settings: RaySettings) -> None:
        self.settings = settings
        self.ray = _import_ray()
        self._started_ray = False
        self._actor_cls: Any = None
        self.actors: list[Any] = []  # alive actors, in start order
        self.names: dict[Any, str] = {}  # actor -> its Ray name, for messages
        self._numbers = count(1)
        self._tokens = count(1)
        self.prefix = f"pingce-{secrets.token_hex(3)}"  # actors are named PREFIX-N in Ray
        self.replacements = 0
        self.deaths = 0

    # ---- lifecycle --------------------------------------------------------------------
    def __enter__(self) -> RayPool:
        return self.start()

    def start(self) -> RayPool:
        """Join the Ray named by the settings (or start a local one); idempotent."""
        if self._actor_cls is not None:
            return self
        ray = self.ray
        if not ray.is_initialized():
            address = self.settings.address or None
            try:
                ray.init(
                    address=address,
                    include_dashboard=False,
                    logging_level=logging.WARNING,
                    log_to_driver=True,
                )
            except Exception as exc:  # ConnectionError, RuntimeError, ...: say where
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise ExecutorError(
                    f"cannot start or join Ray at {address or 'this machine'}: {first}",
                    hint="check the address (ray://HOST:10001) and that the cluster runs",
                ) from None
            self._started_ray = True
        s = self.settings
        if s.num_gpus is None:
            self.settings = s = replace(
                s, num_gpus=1.0 if ray.cluster_resources().get("GPU") else 0.0
            )
        self._actor_cls = ray.remote(num_cpus=s.num_cpus, num_gpus=s.num_gpus, max_restarts=0)(
            _Replica
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for actor in self.actors:
            with contextlib.suppress(Exception):  # already gone
                self.ray.kill(actor)
        self.actors.clear()
        if self._started_ray:
            self.ray.shutdown()
            self._started_ray = False

    def capacity(self) -> int:
        """Actors the cluster can hold at once under the per-actor resources."""
        s = self.settings
        if s.actors:
            return s.actors
        res = self.ray.cluster_resources()
        if s.num_gpus:
            return max(1, int(res.get("GPU", 0) // s.num_gpus))
        return max(1, int(res.get("CPU", 1) // max(s.num_cpus, 1e-9)))

    def _start_actor(self) -> Any:
        name = f"{self.prefix}-{next(self._numbers)}"
        actor = self._actor_cls.options(name=name).remote()
        self.actors.append(actor)
        self.names[actor] = name
        return actor

    def _lose(self, actor: Any, exc: BaseException) -> None:
        """Drop a dead actor; start a replacement while the budget lasts."""
        if actor in self.actors:
            self.actors.remove(actor)
            self.deaths += 1
            log.warning(
                "%s died (%s); its chunks go back to the queue",
                self.names[actor],
                type(exc).__name__,
            )
            if self.replacements < self.settings.max_replacements:
                self.replacements += 1
                self._start_actor()

    # ---- running ----------------------------------------------------------------------
    def run_units(
        self,
        store: Store,
        run_id: str,
        task_id: str,
        units: list[WorkUnit],
        factory: ProcessFactory,
        *,
        chunk_size: int,
        progress: Progress | None = None,
        description: str | None = None,
    ) -> int:
        """Process the units not yet stored for this run on the actors; returns how many
        were computed now. Records are written by this (the driver) process."""
        ray = self.ray
        done = store.existing_keys(run_id, task_id)
        todo = [u for u in units if u.key not in done]
        bar = None
        if progress is not None:
            bar = progress.add_task(
                description or task_id, total=len(units), completed=len(units) - len(todo)
            )
        size = max(1, chunk_size)
        queue: deque[list[WorkUnit]] = deque(
            todo[start : start + size] for start in range(0, len(todo), size)
        )
        if not queue:
            return 0
        while len(self.actors) < min(self.capacity(), len(queue)):
            self._start_actor()
        token = f"{task_id}#{next(self._tokens)}"
        factory_ref = ray.put(factory)
        ready: set[Any] = set()  # actors whose process for `token` is built
        preparing: dict[Any, Any] = {}  # prepare ref -> actor
        running: dict[Any, tuple[Any, list[WorkUnit]]] = {}  # run ref -> (actor, chunk)
        load: dict[Any, int] = {}

        def dispatch() -> None:
            for actor in list(self.actors):
                if actor not in ready:
                    if actor not in preparing.values():
                        preparing[actor.prepare.remote(token, factory_ref)] = actor
                    continue
                while queue and load.get(actor, 0) < IN_FLIGHT_PER_ACTOR:
                    chunk = queue.popleft()
                    running[actor.run.remote(token, chunk)] = (actor, chunk)
                    load[actor] = load.get(actor, 0) + 1
                    log.debug("%s <- %d units of %s", self.names[actor], len(chunk), task_id)

        dispatch()
        # Actors still preparing when the work is done are not waited for: they finish
        # preparing in the background and take the next task's chunks.
        while running or queue:
            if not self.actors:
                raise ExecutorError(
                    f"every Ray actor died ({self.deaths} lost, {self.replacements} replaced); "
                    f"{sum(len(c) for c in queue)} units of task {task_id!r} are not done",
                    hint=f"the finished records are stored: `pingce run --resume {run_id}`",
                )
            refs = list(running) + list(preparing)
            [ref], _ = ray.wait(refs, num_returns=1)
            if ref in preparing:
                actor = preparing.pop(ref)
                try:
                    ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    self._lose(actor, exc)
                except ray.exceptions.RayTaskError as exc:
                    _reraise(exc)  # the factory failed (say, the model cannot load)
                else:
                    ready.add(actor)
                    log.debug("%s ready for %s", self.names[actor], token)
                dispatch()
                continue
            actor, chunk = running.pop(ref)
            load[actor] -= 1
            try:
                outcomes: list[Outcome] = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                queue.appendleft(chunk)
                self._lose(actor, exc)
                dispatch()
                continue
            except ray.exceptions.RayTaskError as exc:
                _reraise(exc)
            store.add_records(
                run_id,
                [
                    {
                        "task": task_id,
                        "key": unit.key,
                        "sample_id": unit.sample_id,
                        "position": unit.position,
                        "scores": out.scores,
                        "data": out.data,
                    }
                    for unit, out in zip(chunk, outcomes, strict=True)
                ],
            )
            log.debug("%s: %d units of %s stored", self.names[actor], len(chunk), task_id)
            if progress is not None and bar is not None:
                progress.advance(bar, len(chunk))
            dispatch()
        for actor in self.actors:
            actor.forget.remote(token)
        return len(todo)


def _reraise(exc: BaseException) -> None:
    """An error raised inside an actor, re-raised as itself (a PingceError stays one line)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        raise cause from None
    raise exc


def run_units_ray(
    store: Store,
    run_id: str,
    task_id: str,
    units: list[WorkUnit],
    factory: ProcessFactory,
    *,
    chunk_size: int,
    settings: RaySettings | None = None,
    progress: Progress | None = None,
    description: str | None = None,
) -> int:
    """`run_units` on a one-off Ray pool (a pool per task; prefer one `RayPool` per run)."""
    with RayPool(settings or RaySettings()) as pool:
        return pool.run_units(
            store,
            run_id,
            task_id,
            units,
            factory,
            chunk_size=chunk_size,
            progress=progress,
            description=description,
        )
