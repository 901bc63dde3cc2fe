"""Issue 17, item 1: each standard says how its samples look, and the dashboard shows it.

A real store holds one demo run of every standard but llm (which `conftest.dash` covers),
made by `pingce demo --only …` — the commands a user runs. For each standard the sample list
shows the standard's own columns and the sample page its own blocks: labeling the image with
gold and predicted boxes by matching status, voice the trials, data the document and the rules
that rejected it, kg gold and predicted triples aligned, perf/compression/conversion their
checks' rows. The references are the stored records themselves: counts in the pages are
compared with counts computed here from the record data.

The store is untrusted: a record naming any file (/etc/passwd) never makes the dashboard read
it; only images under `--media-root` are embedded; malformed records fall back to the
generic view instead of a 500.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from pingce.core.report.render import format_number
from pingce.core.sample_view import SampleView, Table, generic_view, percentiles, render_safely
from pingce.core.store import Store
from pingce.web.app import create_app
from pingce.web.samples import viewer_of

BASE = "http://127.0.0.1:8765"


def client(store: Store, media_root: Path | None = None) -> TestClient:
    return TestClient(create_app(store, create_indexes=False, media_root=media_root), base_url=BASE)


def first_record(store: Store, run_id: str, task: str | None = None) -> Any:
    return next(r for r in store.records(run_id) if task is None or r.task == task)


def sample_page(c: TestClient, run_id: str, record_id: int) -> str:
    response = c.get(f"/runs/{run_id}/samples/{record_id}")
    assert response.status_code == 200
    return response.text


def table_rows(html: str, label: str) -> list[str]:
    """The body rows of the block table under the <dt> named `label`."""
    m = re.search(rf"<dt>{re.escape(label)}</dt>\s*<dd[^>]*>(.*?)</dd>", html, re.S)
    assert m, f"no block {label!r}"
    return re.findall(r"<tr(?: class=\"row-[a-z]+\")?>(?!<th)", m.group(1).split("<tbody>", 1)[1])


def test_every_standard_has_its_own_viewer(demo_store: tuple[Store, dict[str, str]]) -> None:
    store, runs = demo_store
    expected = {"server-perf", "compression", "conversion", "data-quality", "voice", "labeling",
                "kg", "steel", "vision"}  # fmt: skip
    assert expected <= set(runs)
    for standard in expected:
        assert viewer_of(standard).name.endswith(".sample_view"), standard
    assert viewer_of("llm").columns == ("Prompt", "Output", "Extracted", "Reference")


def test_sample_list_uses_the_standards_columns(demo_store: tuple[Store, dict[str, str]]) -> None:
    store, runs = demo_store
    c = client(store)
    for standard, run_id in runs.items():
        head = c.get(f"/runs/{run_id}/samples").text.split("<thead>", 1)[1].split("</thead>")[0]
        for column in viewer_of(standard).columns:
            assert f"<th>{column}</th>" in head, (standard, column)
        if standard != "llm":
            assert "<th>Prompt</th>" not in head


def test_labeling_page_draws_gold_and_predicted_boxes(demo_store: tuple[Store, dict[str, str]]) -> None:  # fmt: skip
    store, runs = demo_store
    record = first_record(store, runs["labeling"])
    data = record.data
    page = sample_page(client(store), runs["labeling"], record.id)
    # Reference: the stored gold/pred lists and the matcher's pairs.
    assert page.count('class="box gold') == len(data["gold"])
    assert page.count('class="box pred') == len(data["pred"])
    extra = len(data["match"]["extra"])
    assert page.count("status-extra") >= extra
    assert len(table_rows(page, "boxes")) == len(data["gold"]) + len(data["pred"])
    assert "image metrics" in page and "--media-root" in page  # pixels not shown without it


def test_labeling_image_only_from_the_media_root(demo_store: tuple[Store, dict[str, str]], tmp_path: Path) -> None:  # fmt: skip
    from PIL import Image

    store, runs = demo_store
    record = first_record(store, runs["labeling"])
    media = tmp_path / "media"
    media.mkdir()
    image = media / "img.png"
    Image.new("RGB", (32, 24), (200, 10, 10)).save(image)
    secret = tmp_path / "secret.png"
    Image.new("RGB", (32, 24), (0, 0, 0)).save(secret)
    rid = store.add_records(  # a copy of the record pointing at three different files
        runs["labeling"],
        [
            {"task": record.task, "sample_id": f"media-{i}", "key": f"media-{i}", "position": 10_000 + i,  # fmt: skip
             "scores": record.scores, "data": {**record.data, "path": p}}
            for i, p in enumerate([str(image), str(secret), "/etc/passwd"])
        ],
    )  # fmt: skip
    del rid
    ids = {r.sample_id: r.id for r in store.records(runs["labeling"]) if r.sample_id.startswith("media-")}  # fmt: skip
    c = client(store, media_root=media)
    assert "data:image/jpeg;base64," in sample_page(c, runs["labeling"], ids["media-0"])
    outside = sample_page(c, runs["labeling"], ids["media-1"])
    assert "data:image/jpeg" not in outside and "no image" in outside
    assert "data:image/jpeg" not in sample_page(c, runs["labeling"], ids["media-2"])


def test_kg_page_aligns_gold_and_predicted_triples(demo_store: tuple[Store, dict[str, str]]) -> None:  # fmt: skip
    store, runs = demo_store
    record = next(r for r in store.records(runs["kg"]) if r.data.get("missed") and r.data.get("spurious"))  # fmt: skip
    page = sample_page(client(store), runs["kg"], record.id)
    rows = table_rows(page, "triples")
    # Reference: the matcher's stored missed and spurious sets.
    assert len(rows) == len(record.data["gold_triples"]) + len(record.data["spurious"])
    assert page.count('class="row-missed"') == len(record.data["missed"])
    assert len(table_rows(page, "predicted (as submitted)")) == len(record.data["pred_triples"])
    assert page.count('class="row-extra"') == len(record.data["spurious"])


def test_data_page_shows_the_document_and_the_rejecting_rules(demo_store: tuple[Store, dict[str, str]]) -> None:  # fmt: skip
    store, runs = demo_store
    records = list(store.records(runs["data-quality"]))
    rejected = next(r for r in records if r.data.get("failed_rules"))
    page = sample_page(client(store), runs["data-quality"], rejected.id)
    assert "rejected by" in page
    assert len(table_rows(page, "verdict")) == len(rejected.data["failed_rules"])
    for rule in rejected.data["failed_rules"]:
        assert rule in page
    kept = next((r for r in records if not r.data.get("failed_rules")), None)
    if kept is not None:
        assert "kept (no rule rejected it)" in sample_page(
            client(store), runs["data-quality"], kept.id
        )


def test_voice_page_lists_the_trials_of_a_block(demo_store: tuple[Store, dict[str, str]]) -> None:
    from pingce.voice.columns import table_from_blocks

    store, runs = demo_store
    record = next(r for r in store.records(runs["voice"]) if r.data.get("block"))
    trials = table_from_blocks([record.data])  # the reference decoder of stored blocks
    page = sample_page(client(store), runs["voice"], record.id)
    rows = table_rows(page, "trials")
    assert len(rows) == min(len(trials), 500)
    assert trials.utt[0] in page and trials.utt[min(len(trials), 500) - 1] in page


def test_perf_compression_conversion_pages_show_check_rows(demo_store: tuple[Store, dict[str, str]]) -> None:  # fmt: skip
    store, runs = demo_store
    c = client(store)
    perf = first_record(store, runs["server-perf"], "single-stream")
    page = sample_page(c, runs["server-perf"], perf.id)
    assert "per-query timing (ms)" in page and "scenario settings" in page
    # Reference: nearest-rank p99 of the stored latencies, by hand.
    lat = sorted(perf.data["latencies_s"])
    p99 = lat[max(1, -(-99 * len(lat) // 100)) - 1]
    assert percentiles(lat)["p99"] == p99
    conv = next(r for r in store.records(runs["conversion"]) if r.data.get("layers"))
    page = sample_page(c, runs["conversion"], conv.id)
    assert len(table_rows(page, "layers")) == len(conv.data["layers"])
    comp = next(r for r in store.records(runs["compression"]) if r.data.get("baseline"))
    assert "<dt>size</dt>" in sample_page(c, runs["compression"], comp.id)


def test_steel_page_shows_actual_predicted_and_error(demo_store: tuple[Store, dict[str, str]]) -> None:  # fmt: skip
    store, runs = demo_store
    record = next(r for r in store.records(runs["steel"]) if r.data.get("targets"))
    page = sample_page(client(store), runs["steel"], record.id)
    rows = table_rows(page, "end point")
    assert len(rows) == len(record.data["targets"])
    for name, t in record.data["targets"].items():  # reference: pred - y by hand
        assert name in page
        assert format_number(t["pred"] - t["y"]) in page


def test_vision_defect_page_draws_the_mask_extent(demo_store: tuple[Store, dict[str, str]]) -> None:  # fmt: skip
    import numpy as np

    from pingce.vision.quality import unpack_mask

    store, runs = demo_store
    record = next(r for r in store.records(runs["vision"]) if r.data.get("label") == 1 and "mask" in r.data)  # fmt: skip
    mask = unpack_mask(record.data["mask"], record.data["size"])  # the standard's own decoder
    page = sample_page(client(store), runs["vision"], record.id)
    assert page.count('class="box gold') == (1 if mask.any() else 0)
    if mask.any():
        ys, xs = np.nonzero(mask)
        width = xs.max() - xs.min() + 1
        assert f"{format_number(float(width))}×" in page  # the box tooltip: w×h px


def test_malformed_records_fall_back_to_the_generic_view(demo_store: tuple[Store, dict[str, str]]) -> None:  # fmt: skip
    store, runs = demo_store
    bad = [
        {"gold": "not a list", "pred": [[1, 2]], "match": {"valid": [["x", None, "y"]]}},
        {"block": True, "trials": 3, "utt": 5},
        {"gold_triples": {"a": 1}, "missed": "x", "nonconforming": [1, None]},
        {"latencies_s": ["a", None, float("nan")], "config": [1]},
        {"failed_rules": ["not", "a", "dict"], "preview": 17},
    ]
    c = client(store)
    for standard, run_id in runs.items():
        record = first_record(store, run_id)
        store.add_records(
            run_id,
            [{"task": record.task, "sample_id": f"bad-{i}", "key": f"bad-{standard}-{i}",
              "position": 20_000 + i, "scores": {"x": "y"}, "data": d} for i, d in enumerate(bad)],
        )  # fmt: skip
        for r in store.records(run_id):
            if r.sample_id.startswith("bad-"):
                assert c.get(f"/runs/{run_id}/samples/{r.id}").status_code == 200, (
                    standard,
                    r.data,
                )
        assert c.get(f"/runs/{run_id}/samples?limit=200").status_code == 200


def test_generic_view_and_fitting() -> None:
    view = generic_view({"prompt": "p", "output": "o", "n": 3}, {})
    assert view.summary == ("p", "o", None, None)
    assert [type(b).__name__ for b in view.blocks] == ["Text", "Text", "Fields"]

    from pingce.core.sample_view import Viewer

    def explode(data: Any, scores: Any) -> SampleView:
        raise KeyError("boom")

    fitted = render_safely(Viewer(("A", "B"), explode, "x"), {"prompt": "p"}, {})
    assert fitted.summary == ("p", None)  # generic view, cut to the viewer's two columns
    table = Table("t", ("a",), ((1,),))
    assert table.kinds == ()
