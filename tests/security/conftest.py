"""Fixtures for the attack battery: the served-model tests' replaying server, reused.

`replay_server` is tests/served/fault_server.py (it answers each prompt with the text between
`<<` and `>>` in it), started on 127.0.0.1 by this fixture and stopped by its process id.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVED = Path(__file__).parent.parent / "served"
_spec = importlib.util.spec_from_file_location("served_conftest_helpers", SERVED / "conftest.py")
assert _spec is not None and _spec.loader is not None
served = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = served  # dataclasses look their module up there
_spec.loader.exec_module(served)


@pytest.fixture
def replay_server() -> Iterator[object]:
    port = served.free_port()
    proc = served._start(
        [sys.executable, str(SERVED / "fault_server.py"), str(port)],
        f"http://127.0.0.1:{port}/v1/models",
        20,
    )
    yield served.Server(f"http://127.0.0.1:{port}/v1", port, proc)
    served._stop(proc)
