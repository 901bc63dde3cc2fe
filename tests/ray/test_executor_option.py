"""The executor option and what makes a retried chunk safe; these need no Ray running.

References: hand-written expectations for the option's forms, and the store's own record
count for duplicate writes.
"""

from __future__ import annotations

import sys

import pytest

from pingce.core.errors import SpecError
from pingce.core.ray_executor import ExecutorError, RayPool, RaySettings, parse_executor
from pingce.core.store import open_store
from pingce.llm.ray_executor import _shared_store_url, ray_settings


def test_executor_forms() -> None:
    assert parse_executor(None) is None and parse_executor("local") is None
    assert parse_executor("ray") == ""
    assert parse_executor("ray://10.0.0.5:10001") == "ray://10.0.0.5:10001"
    assert ray_settings({}, "hf") is None
    hf = ray_settings({"executor": "ray"}, "hf")
    assert hf == RaySettings(address=None, actors=None, num_cpus=1.0, num_gpus=None)
    api = ray_settings({"executor": "ray://h:1", "ray_actors": 3}, "openai")
    assert api == RaySettings(address="ray://h:1", actors=3, num_cpus=1.0, num_gpus=0.0)


@pytest.mark.parametrize("bad", ["rayy", "ray://", 3])
def test_bad_executor_option_is_one_line_error(bad) -> None:
    with pytest.raises(SpecError, match="option executor must be local, ray or ray://HOST:PORT"):
        parse_executor(bad)


def test_bad_ray_number_is_one_line_error() -> None:
    with pytest.raises(SpecError, match="option ray_num_gpus must be a number"):
        ray_settings({"executor": "ray", "ray_num_gpus": "many"}, "hf")


def test_missing_ray_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed: import fails
    with pytest.raises(ExecutorError, match="needs Ray") as err:
        RayPool(RaySettings())
    assert "pingce[ray]" in err.value.one_line()


def test_store_url_shipped_to_actors(tmp_path) -> None:
    db = tmp_path / "s.db"
    assert _shared_store_url(f"sqlite:///{db}", local=True) == f"sqlite:///{db}"
    assert _shared_store_url(f"sqlite:///{db}", local=False) is None  # not on other nodes
    assert _shared_store_url("postgresql+psycopg://u:pw@h/db", local=False) is None  # secret
    assert (
        _shared_store_url("postgresql+psycopg://h/db", local=False) == "postgresql+psycopg://h/db"
    )


def test_add_records_skips_keys_already_stored(tmp_path) -> None:
    """What makes a retried chunk safe: writing the same records again adds nothing."""
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    store.create_run(id="r1", standard="llm", suite="s", subject="x", subject_fingerprint={},
                     config={}, config_hash="h", environment={}, status="running")  # fmt: skip
    recs = [{"task": "t", "key": f"k{i}", "sample_id": str(i), "position": i, "scores": {},
             "data": {}} for i in range(3)]  # fmt: skip
    assert store.add_records("r1", recs) == 3
    assert store.add_records("r1", recs + recs) == 0
    assert store.count_records("r1") == 3
    store.close()
