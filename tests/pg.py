"""A throwaway PostgreSQL server for tests (no Docker, no system service).

`start_postgres()` runs initdb into a fresh temporary folder, starts the server on a free
port bound to 127.0.0.1 with its socket in that folder, creates the database `pingce_test`
owned by the superuser `pingce` (trust authentication, no password), and returns its URL.
PostgreSQL refuses to run as root, so under root the server runs as the `postgres` user when
it exists, else as `nobody`, through `runuser`. `PgUnavailable` says why a server could not
be started (no binaries, no way to drop root, initdb or start-up failed).

Equivalent shell, as root (what `.ci/run` can copy):

    D=$(mktemp -d /tmp/pingce-pg.XXXXXX); chown postgres: "$D"
    B=/usr/lib/postgresql/15/bin
    runuser -u postgres -- $B/initdb -D "$D/data" -A trust -U pingce -E UTF8 --no-locale --no-sync
    runuser -u postgres -- $B/pg_ctl -D "$D/data" -l "$D/log" -w \
        -o "-p 55432 -k $D -h 127.0.0.1 -F" start
    $B/createdb -h 127.0.0.1 -p 55432 -U pingce pingce_test
    export PINGCE_TEST_PG_URL=postgresql+psycopg://pingce@127.0.0.1:55432/pingce_test
    # ... tests ...
    runuser -u postgres -- $B/pg_ctl -D "$D/data" -m immediate stop; rm -rf "$D"
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

DB_NAME = "pingce_test"
DB_USER = "pingce"


class PgUnavailable(RuntimeError):
    """No PostgreSQL server could be started here; the message says why."""


def pg_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl: from PATH, else the newest Debian-style install."""
    for name in ("initdb", "pg_ctl"):
        found = shutil.which(name)
        if found:
            folder = Path(found).resolve().parent
            if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
                return folder
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name or 0)
    )
    for folder in reversed(candidates):
        if (Path(folder) / "initdb").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    url: str
    root: Path
    bin_dir: Path
    run_as: list[str]  # command prefix that drops root, or []

    def stop(self) -> None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data")]
                + ["-m", "immediate", "-w", "stop"],
                capture_output=True,
                timeout=30,
            )
        shutil.rmtree(self.root, ignore_errors=True)


def _run(cmd: list[str], what: str) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise PgUnavailable(f"{what} failed: {exc}") from None
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise PgUnavailable(f"{what} failed: {detail[-1] if detail else proc.returncode}")


def start_postgres() -> PgServer:
    """Start a throwaway server; raise PgUnavailable with the reason when that is impossible."""
    bin_dir = pg_bin_dir()
    hidden = os.environ.get("PINGCE_TEST_HIDE_PACKAGES", "").split(",")  # tests/conftest.py
    if bin_dir is None or "postgresql" in hidden:
        # the wording tests/conftest.py's end-of-run summary groups by package
        raise PgUnavailable(
            "needs Debian package postgresql (no initdb, pg_ctl found); apt-get install postgresql"
        )
    # A short path under /tmp: pytest's own tmp folders are private to root, and unix socket
    # paths are limited to ~100 characters.
    root = Path(tempfile.mkdtemp(prefix="pingce-pg-", dir="/tmp"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        user = None
        for candidate in ("postgres", "nobody"):
            try:
                user = pwd.getpwnam(candidate)
                break
            except KeyError:
                continue
        runuser = shutil.which("runuser")
        if user is None or runuser is None:
            shutil.rmtree(root, ignore_errors=True)
            raise PgUnavailable("running as root with no postgres/nobody user or no runuser")
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = [runuser, "-u", user.pw_name, "--"]
    port = _free_port()
    server = PgServer(
        url=f"postgresql+psycopg://{DB_USER}@127.0.0.1:{port}/{DB_NAME}",
        root=root,
        bin_dir=bin_dir,
        run_as=run_as,
    )
    try:
        _run(
            [*run_as, str(bin_dir / "initdb"), "-D", str(root / "data"), "-A", "trust"]
            + ["-U", DB_USER, "-E", "UTF8", "--no-locale", "--no-sync"],
            "initdb",
        )
        _run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log")]
            + ["-w", "-t", "30", "-o", f"-p {port} -k {root} -h 127.0.0.1 -F", "start"],
            "pg_ctl start",
        )
        _run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", DB_USER, DB_NAME],
            "createdb",
        )
    except PgUnavailable:
        server.stop()
        raise
    return server
