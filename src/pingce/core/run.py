"""Run lifecycle: ids, config hashes, environment fingerprints, status, resume.

Order of work: load the suite, open the subject, plan every task (all user errors surface
here, before a run exists), create the run, execute (records are committed as they complete),
summarize from the stored records, mark the run completed and store the digest of its records
and summary (pingce.core.integrity). Ctrl-C or SIGTERM marks it `interrupted`, a user error
`failed`; `kill -9` leaves it `running`. Any of these resumes with `pingce run --resume
RUN_ID`, which recomputes nothing already stored.
"""

from __future__ import annotations

import secrets
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pingce.core.errors import PingceError, SpecError, StoreError
from pingce.core.execute import make_progress
from pingce.core.fingerprint import content_hash, environment
from pingce.core.integrity import seal_run, unseal_run
from pingce.core.options import resolve_options
from pingce.core.registry import standards
from pingce.core.spec import Suite, load_suite, parse_subject, suite_from_dict
from pingce.core.standard import RunContext, Standard
from pingce.core.store import RunRow, Store, records_as_dicts


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and readable: 2026-11-28T12-00-00-ab12."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H-%M-%S") + "-" + secrets.token_hex(2)


@dataclass
class RunRequest:
    suite: str | Suite  # a built-in name, a YAML path, or a suite built in code
    subject: str
    standard: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    # Options the user set explicitly (e.g. command-line flags): with a standard's options
    # model, one of these that the standard does not have is an error, not silently dropped.
    explicit: frozenset[str] = frozenset()


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived during a run: handled exactly as Ctrl-C (the run ends `interrupted`)."""


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While the block runs, SIGTERM raises `Terminated` in the main thread, as Ctrl-C does.

    Service managers, `timeout` and container runtimes stop a process with SIGTERM; without
    this its run would stay `running`. The previous handler is restored afterwards. Outside
    the main thread (signals cannot be handled there) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def execute_run(
    store: Store,
    request: RunRequest | None = None,
    *,
    resume: str | None = None,
    show_progress: bool = True,
    overrides: dict[str, Any] | None = None,
) -> str:
    """Run (or resume) a suite on a subject; returns the run id.

    `overrides` change execution-only options when resuming (executor, concurrency, threads):
    record keys do not depend on them, so finished work is reused whatever they are.
    """
    row: RunRow | None = None
    if resume:
        row = store.get_run(resume)
        config = row.config
        suite_ref: str | Suite = (
            config["suite_ref"]
            if config.get("suite_ref")
            else suite_from_dict(
                config["suite_spec"], config["suite_source"], Path(config["suite_base_dir"])
            )
        )
        request = RunRequest(
            suite=suite_ref,
            subject=row.subject,
            standard=row.standard,
            options={**config["options"], **(overrides or {})},
            explicit=frozenset(overrides or {}),
        )
    if request is None:
        raise SpecError("nothing to run", hint="give --suite and --model, or --resume RUN_ID")
    suite = request.suite if isinstance(request.suite, Suite) else load_suite(request.suite)
    standard: Standard = standards.get(suite.spec.standard)
    if request.standard and request.standard != suite.spec.standard:
        raise SpecError(
            f"suite {suite.name!r} belongs to standard {suite.spec.standard!r}, not {request.standard!r}"
        )
    # Only the standard's own options (and the common ones) are stored and hashed.
    options = resolve_options(standard, request.options, request.explicit)
    if options != request.options:
        request = RunRequest(request.suite, request.subject, request.standard, options)
    if row is not None and suite.sha256 != row.config.get("suite_sha256"):
        raise SpecError(
            f"suite {suite.source} changed since run {row.id} started",
            hint="resuming needs the same suite; start a new run instead",
        )
    check_data = getattr(standard, "check_data", None)
    if check_data is not None:
        # Data errors surface before a possibly slow subject (a model) is loaded.
        check_data(suite, request.options)
    subject = standard.open_subject(parse_subject(request.subject), request.options)
    fingerprint = subject.fingerprint()
    if row is not None and content_hash(fingerprint) != content_hash(row.subject_fingerprint):
        raise StoreError(
            f"the subject {request.subject!r} differs from the one run {row.id} used",
            hint="resume with the same model files and settings",
        )
    plan = standard.plan(suite, subject, request.options)
    if row is None:
        config = {
            "suite_ref": None if isinstance(request.suite, Suite) else request.suite,
            "suite_source": suite.source,
            "suite_base_dir": str(suite.base_dir),
            "suite_sha256": suite.sha256,
            "suite_spec": suite.spec.model_dump(mode="json"),
            "options": request.options,
            "settings": {**subject.settings(), **plan.settings},
        }
        run_id = new_run_id()
        store.create_run(
            id=run_id,
            standard=suite.spec.standard,
            suite=suite.name,
            suite_title=suite.spec.title,
            subject=request.subject,
            subject_fingerprint=fingerprint,
            config=config,
            config_hash=content_hash(
                fingerprint, config["suite_sha256"], request.options, length=16
            ),
            environment=environment(
                {"seed": request.options.get("seed"), "threads": config["settings"].get("threads")}
            ),
            status="created",
        )
    else:
        run_id = row.id
    if row is not None:
        unseal_run(store, run_id)  # a resumed run's records change; it is sealed again at the end
    store.update_run(run_id, status="running", error=None)
    final: dict[str, Any] | None = None
    try:
        with sigterm_interrupts(), make_progress(show_progress) as progress:
            ctx = RunContext(store, run_id, suite, subject, plan, request.options, progress)
            standard.execute(ctx)
        results = summarize_run(store, store.get_run(run_id))
    except Terminated:
        final = {"status": "interrupted", "error": "interrupted by SIGTERM"}
    except KeyboardInterrupt:
        final = {"status": "interrupted", "error": "interrupted by the user"}
    except PingceError as exc:
        _mark_final(store, run_id, status="failed", error=exc.one_line())
        raise
    except BaseException as exc:
        _mark_final(store, run_id, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    if final is not None:
        # Outside the except block, so the interrupted traceback (and the half-run SQLite
        # statement its frames hold, which keeps the write lock) can be released first.
        _mark_final(store, run_id, **final)
        raise KeyboardInterrupt
    store.update_run(run_id, status="completed", results=results)
    seal_run(store, run_id)
    _remember_summary(run_id, results)
    return run_id


# The summary of the run this process has just completed, so that its report (built right
# after, e.g. by `pingce run`) does not summarize the same records a second time.
_fresh: dict[str, tuple[str, dict[str, Any]]] = {}


def _remember_summary(run_id: str, results: dict[str, Any]) -> None:
    _fresh.clear()
    _fresh[run_id] = (content_hash(results), results)


def fresh_summary(row: RunRow) -> dict[str, Any] | None:
    """The summary `execute_run` computed for `row` in this process, when the stored results
    are still exactly that summary (else None: summarize from the stored records)."""
    entry = _fresh.get(row.id)
    if entry is None or row.status != "completed" or row.results is None:
        return None
    digest, results = entry
    return results if content_hash(row.results) == digest else None


def _mark_final(store: Store, run_id: str, **fields: Any) -> None:
    """Record how a run ended, even when an interrupt left a write half-done.

    Ctrl-C can land inside an INSERT; with SQLite the aborted statement keeps its connection's
    write lock until it is finalized. Collect the dead frames, drop pooled connections and
    retry, so the run is marked `interrupted`/`failed` rather than left `running`.
    """
    import gc

    from sqlalchemy.exc import OperationalError

    for attempt in range(3):
        gc.collect()
        store.engine.dispose()
        try:
            store.update_run(run_id, **fields)
            return
        except OperationalError:
            if attempt == 2:
                raise


def summarize_run(store: Store, row: RunRow) -> dict[str, Any]:
    """The run's results, recomputed from its stored records."""
    standard: Standard = standards.get(row.standard)
    records = records_as_dicts(store.records(row.id))
    return standard.summarize(row.config["suite_spec"], row.config, records)
