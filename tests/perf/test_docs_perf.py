"""docs/standards/server-perf.md lists every indicator the standard declares."""

from pathlib import Path

from pingce.perf.standard import PerfStandard

PAGE = Path(__file__).resolve().parents[2] / "docs" / "standards" / "server-perf.md"


def test_every_server_perf_indicator_is_documented() -> None:
    page = PAGE.read_text(encoding="utf-8")
    missing = [i.id for i in PerfStandard().indicators() if f"`{i.id}`" not in page]
    assert not missing, f"server-perf.md lacks indicators: {missing}"
