"""The logistics-park item generator: rendered scenes, waybills and delivery notes with
exactly known answers, for the sector standard "AI - Technical Requirements for Visual Large
Model System in Logistics Parks".

Everything is drawn with PIL from a seeded `random.Random`, so one seed gives the same items
and the same image bytes (with the same fonts). Objects are drawn from axis-aligned rectangles
only, so every reference box is exact: a rectangle drawn over pixels x0..x1-1 has the box
(x0, y0, x1, y1) in continuous pixel coordinates, the convention of `pingce.vlm.metrics.iou`.

Waybills and delivery notes are bilingual when a CJK font is installed (`fc-list :lang=zh`);
without one they are English only and the manifest says so (`"cjk": false`).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError

WIDTH, HEIGHT = 640, 480


@dataclass(frozen=True)
class ItemType:
    """One kind of question and the indicator it feeds."""

    indicator: str
    name: str
    name_zh: str
    metric: str  # a name in pingce.vlm.metrics.METRICS


ITEM_TYPES: dict[str, ItemType] = {
    "parcel_count": ItemType("lp_parcel_counting", "parcel counting", "包裹计数", "count_accuracy"),
    "localisation": ItemType(
        "lp_object_localisation", "parcel/vehicle/person/forklift localisation", "目标定位",
        "grounding_acc_at_0_5",
    ),
    "waybill_ocr": ItemType("lp_waybill_ocr", "waybill text recognition", "运单识别", "anls"),
    "damaged_parcel": ItemType(
        "lp_damaged_parcel", "damaged-parcel detection", "破损包裹识别", "pope_accuracy"
    ),
    "stacking_rule": ItemType(
        "lp_stacking_rule", "stacking-rule violation", "堆码规则违规识别", "pope_accuracy"
    ),
    "safety_lane": ItemType(
        "lp_person_in_forklift_lane", "person in the forklift lane", "人员闯入叉车通道识别",
        "pope_accuracy",
    ),
    "safety_helmet": ItemType(
        "lp_missing_helmet", "missing safety helmet", "未戴安全帽识别", "pope_accuracy"
    ),
    "dock_occupancy": ItemType(
        "lp_dock_occupancy", "dock-door occupancy", "月台门占用识别", "count_accuracy"
    ),
    "delivery_note_qa": ItemType(
        "lp_delivery_note_qa", "delivery-note document QA", "送货单文档问答", "anls"
    ),
}  # fmt: skip

# Colours: each object class has its own palette so a test can find it by colour.
FLOOR = (196, 196, 196)
LANE = (232, 200, 40)
LANE_EDGE = (40, 40, 40)
PARCEL = (170, 120, 60)
TAPE = (214, 184, 128)
DAMAGE = (62, 38, 18)
FORKLIFT = (240, 118, 0)
MAST = (92, 92, 110)
TRUCK = (30, 60, 160)
CAB = (60, 96, 206)
VEST = (40, 160, 90)
SKIN = (226, 186, 148)
HELMET = (250, 214, 0)
DOOR = (78, 78, 78)
CLASS_COLOURS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "parcel": (PARCEL, TAPE, DAMAGE),
    "forklift": (FORKLIFT, MAST),
    "vehicle": (TRUCK, CAB),
    "person": (VEST, SKIN, HELMET),
}
LANE_Y = (392, 448)  # the forklift lane band, y0..y1 (continuous)
STACK_LIMIT = 3


@dataclass(frozen=True)
class Item:
    """One generated question: its image (relative to the suite folder) and reference."""

    id: str
    image: str
    question: str
    answers: list[str]
    item_type: str
    indicator: str
    indicator_name: str
    indicator_name_zh: str
    metric: str
    meta: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- fonts


def _fc(args: list[str]) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def find_cjk_font() -> Path | None:
    """An installed font file covering Chinese (`fc-list :lang=zh`), sans preferred; None
    when there is none (or no fontconfig)."""
    files = sorted(
        {
            line.split(":")[0].strip()
            for line in _fc(["fc-list", ":lang=zh", "file"]).splitlines()
            if line.strip()
        }
    )
    files = [f for f in files if Path(f).is_file()]
    sans = [f for f in files if "Sans" in f and "Bold" not in f]
    pick = (sans or files or [None])[0]
    return Path(pick) if pick else None


def _latin_font() -> Path | None:
    found = _fc(["fc-match", "-f", "%{file}", "DejaVuSans"]).strip()
    return Path(found) if found and Path(found).is_file() else None


class _Fonts:
    def __init__(self, cjk: Path | None) -> None:
        from PIL import ImageFont

        self.cjk_path = cjk
        self.latin_path = cjk or _latin_font()
        self._cache: dict[int, Any] = {}
        self._image_font = ImageFont

    def get(self, size: int) -> Any:
        if size not in self._cache:
            if self.latin_path is not None:
                self._cache[size] = self._image_font.truetype(str(self.latin_path), size)
            else:
                self._cache[size] = self._image_font.load_default(size=size)
        return self._cache[size]

    @property
    def name(self) -> str:
        return self.latin_path.name if self.latin_path else "PIL default"


# ---------------------------------------------------------------- drawing primitives

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (continuous; pixels x0..x1-1)


def _rect(draw: Any, r: Rect, colour: tuple[int, int, int]) -> None:
    draw.rectangle([r[0], r[1], r[2] - 1, r[3] - 1], fill=colour)


def _union(rects: list[Rect]) -> Rect:
    return (
        min(r[0] for r in rects),
        min(r[1] for r in rects),
        max(r[2] for r in rects),
        max(r[3] for r in rects),
    )


def _floor(lane: bool = True) -> tuple[Any, Any]:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (WIDTH, HEIGHT), FLOOR)
    draw = ImageDraw.Draw(img)
    if lane:
        _rect(draw, (0, LANE_Y[0], WIDTH, LANE_Y[1]), LANE)
        _rect(draw, (0, LANE_Y[0], WIDTH, LANE_Y[0] + 3), LANE_EDGE)
        _rect(draw, (0, LANE_Y[1] - 3, WIDTH, LANE_Y[1]), LANE_EDGE)
    return img, draw


def draw_parcel(draw: Any, x: int, y: int, w: int, h: int, damaged: bool = False) -> Rect:
    _rect(draw, (x, y, x + w, y + h), PARCEL)
    _rect(draw, (x + w // 2 - 3, y, x + w // 2 + 3, y + h), TAPE)
    if damaged:  # a torn corner and a crack
        _rect(draw, (x, y, x + w // 3, y + h // 3), DAMAGE)
        _rect(draw, (x + w // 4, y + h // 2, x + w - 4, y + h // 2 + 4), DAMAGE)
    return (x, y, x + w, y + h)


def draw_forklift(draw: Any, x: int, y: int) -> Rect:
    parts = [
        (x, y + 20, x + 70, y + 55),
        (x + 70, y, x + 78, y + 55),
        (x + 78, y + 45, x + 100, y + 50),
    ]
    _rect(draw, parts[0], FORKLIFT)
    _rect(draw, parts[1], MAST)
    _rect(draw, parts[2], MAST)
    return _union(parts)


def draw_truck(draw: Any, x: int, y: int) -> Rect:
    parts = [(x, y, x + 130, y + 60), (x + 130, y + 18, x + 165, y + 60)]
    _rect(draw, parts[0], TRUCK)
    _rect(draw, parts[1], CAB)
    return _union(parts)


def draw_person(draw: Any, x: int, y: int, helmet: bool = True) -> Rect:
    parts = [(x + 6, y + 10, x + 22, y + 24), (x, y + 24, x + 28, y + 70)]
    _rect(draw, parts[0], SKIN)
    _rect(draw, parts[1], VEST)
    if helmet:
        parts.append((x + 4, y + 2, x + 24, y + 12))
        _rect(draw, parts[-1], HELMET)
    return _union(parts)


# ---------------------------------------------------------------- item makers

_Made = tuple[Any, str, list[str], dict[str, Any]]  # image, question, answers, meta


def _grid_cells(rng: random.Random, n: int) -> list[tuple[int, int]]:
    """n distinct cells of the 7x3 parcel grid above the lane (no two parcels touch)."""
    cells = [(c, r) for c in range(7) for r in range(3)]
    return rng.sample(cells, n)


def _parcel_count(rng: random.Random, fonts: _Fonts) -> _Made:
    img, draw = _floor()
    n = rng.randint(1, 12)
    for c, r in _grid_cells(rng, n):
        draw_parcel(
            draw,
            20 + c * 88 + rng.randint(0, 12),
            110 + r * 90 + rng.randint(0, 12),
            rng.randint(50, 64),
            rng.randint(40, 60),
        )
    return img, "How many parcels are on the floor? Answer with a number.", [str(n)], {"count": n}


def _localisation(rng: random.Random, fonts: _Fonts) -> _Made:
    img, draw = _floor()
    target = rng.choice(["parcel", "vehicle", "person", "forklift"])
    # one object of each class in its own band, so each class appears once
    boxes = {
        "vehicle": draw_truck(draw, rng.randint(10, 460), rng.randint(20, 60)),
        "parcel": draw_parcel(draw, rng.randint(10, 250), rng.randint(170, 250), 60, 50),
        "person": draw_person(draw, rng.randint(340, 590), rng.randint(150, 270)),
        "forklift": draw_forklift(draw, rng.randint(10, 520), LANE_Y[0] - 40),
    }
    box = boxes[target]
    noun = {"vehicle": "truck", "parcel": "parcel", "person": "person", "forklift": "forklift"}[
        target
    ]
    question = (
        f"Locate the {noun} in the image. Answer with its bounding box as [x1, y1, x2, y2] "
        f"in pixels of the {WIDTH}x{HEIGHT} image."
    )
    return (
        img,
        question,
        [json.dumps(list(box))],
        {"box": list(box), "target": target, "width": WIDTH, "height": HEIGHT},
    )


_SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"]
_GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "艳", "军", "杰", "涛"]
_CITIES = [
    ("上海市", "浦东新区"),
    ("北京市", "朝阳区"),
    ("广州市", "天河区"),
    ("成都市", "武侯区"),
    ("武汉市", "洪山区"),
]
_ROADS = ["物流园路", "仓储大道", "港湾路", "建设路", "人民路"]
_EN_FIRST = ["Alice", "Ben", "Chloe", "David", "Emma", "Frank", "Grace", "Henry"]
_EN_LAST = ["Smith", "Brown", "Wilson", "Taylor", "Clark", "Walker", "Hall", "Young"]
_EN_STREETS = ["Harbour Road", "Depot Lane", "Cargo Street", "Freight Avenue", "Dock Road"]
_EN_CITIES = ["Leeds", "Bristol", "Dover", "Felixstowe", "Manchester"]
_GOODS = [
    ("Carton A4 paper", "A4纸箱"),
    ("Shrink film", "缠绕膜"),
    ("Pallet", "托盘"),
    ("Label roll", "标签卷"),
    ("Tape", "封箱胶带"),
]


def _tracking(rng: random.Random) -> str:
    return rng.choice(["SF", "YT", "ZT", "JD"]) + "".join(str(rng.randint(0, 9)) for _ in range(12))


def _phone(rng: random.Random, cjk: bool) -> str:
    if cjk:
        return "1" + rng.choice("3456789") + "".join(str(rng.randint(0, 9)) for _ in range(9))
    return "07" + "".join(str(rng.randint(0, 9)) for _ in range(9))


def _waybill(rng: random.Random, fonts: _Fonts) -> _Made:
    from PIL import Image, ImageDraw

    cjk = fonts.cjk_path is not None and rng.random() < 0.5
    img = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    tracking, phone = _tracking(rng), _phone(rng, cjk)
    if cjk:
        city, district = rng.choice(_CITIES)
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN)
        address = f"{city}{district}{rng.choice(_ROADS)}{rng.randint(1, 999)}号"
        labels = ("运单号", "收件人", "电话", "地址")
        title = "快递运单"
    else:
        name = f"{rng.choice(_EN_FIRST)} {rng.choice(_EN_LAST)}"
        address = f"{rng.randint(1, 199)} {rng.choice(_EN_STREETS)}, {rng.choice(_EN_CITIES)}"
        labels = ("Tracking No.", "Recipient", "Phone", "Address")
        title = "WAYBILL"
    draw.rectangle([10, 10, WIDTH - 11, HEIGHT - 11], outline=(0, 0, 0), width=3)
    draw.text((30, 24), title, font=fonts.get(36), fill=(0, 0, 0))
    values = (tracking, name, phone, address)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        draw.text((30, 100 + i * 80), f"{label}: {value}", font=fonts.get(28), fill=(0, 0, 0))
    field_i = rng.randrange(4)
    field_en = (
        "tracking number",
        "recipient's name",
        "recipient's phone number",
        "recipient's address",
    )[field_i]
    question = f"What is the {field_en} on this waybill? Answer with the text only."
    return img, question, [values[field_i]], {"field": field_en, "language": "zh" if cjk else "en"}


def _damaged(rng: random.Random, fonts: _Fonts) -> _Made:
    img, draw = _floor()
    n = rng.randint(2, 6)
    damaged = rng.random() < 0.5
    bad = rng.randrange(n) if damaged else -1
    for i, (c, r) in enumerate(_grid_cells(rng, n)):
        draw_parcel(draw, 20 + c * 88, 110 + r * 90, 60, 50, damaged=i == bad)
    question = "Is any parcel in the image damaged (torn or crushed)? Answer yes or no."
    return img, question, ["yes" if damaged else "no"], {"damaged": damaged}


def _stacking(rng: random.Random, fonts: _Fonts) -> _Made:
    img, draw = _floor()
    stacks = [rng.randint(1, STACK_LIMIT) for _ in range(rng.randint(2, 5))]
    violation = rng.random() < 0.5
    if violation:
        stacks[rng.randrange(len(stacks))] = rng.randint(STACK_LIMIT + 1, STACK_LIMIT + 3)
    for i, height in enumerate(stacks):
        for level in range(height):
            draw_parcel(draw, 30 + i * 120, 380 - (level + 1) * 52, 80, 48)
    question = (
        f"The park's rule allows at most {STACK_LIMIT} parcels in one stack. Does any stack "
        "break the rule? Answer yes or no."
    )
    return img, question, ["yes" if violation else "no"], {"stacks": stacks}


def _safety_lane(rng: random.Random, fonts: _Fonts) -> _Made:
    img, draw = _floor()
    draw_forklift(draw, rng.randint(10, 200), LANE_Y[0] - 40)
    in_lane = rng.random() < 0.5
    x = rng.randint(300, 590)
    y = LANE_Y[0] - 30 if in_lane else rng.randint(120, LANE_Y[0] - 80)
    draw_person(draw, x, y)
    question = "Is a person standing in the yellow forklift lane? Answer yes or no."
    return img, question, ["yes" if in_lane else "no"], {"in_lane": in_lane}


def _safety_helmet(rng: random.Random, fonts: _Fonts) -> _Made:
    img, draw = _floor()
    n = rng.randint(1, 4)
    missing = rng.random() < 0.5
    bare = rng.randrange(n) if missing else -1
    for i in range(n):
        draw_person(
            draw, 40 + i * 150 + rng.randint(0, 40), rng.randint(120, 300), helmet=i != bare
        )
    question = "Is any worker not wearing a safety helmet? Answer yes or no."
    return img, question, ["yes" if missing else "no"], {"missing": missing, "people": n}


def _dock(rng: random.Random, fonts: _Fonts) -> _Made:
    img, draw = _floor(lane=False)
    doors = 4
    occupied = [rng.random() < 0.5 for _ in range(doors)]
    for i in range(doors):
        x = 20 + i * 155
        _rect(draw, (x, 10, x + 140, 150), DOOR)
        draw.text((x + 60, 155), str(i + 1), font=fonts.get(22), fill=(0, 0, 0))
        if occupied[i]:
            _rect(draw, (x + 15, 30, x + 125, 150), TRUCK)
    n = sum(occupied)
    question = f"There are {doors} dock doors. How many of them have a truck parked at them? Answer with a number."
    return img, question, [str(n)], {"count": n, "occupied": occupied}


def _delivery_note(rng: random.Random, fonts: _Fonts) -> _Made:
    from PIL import Image, ImageDraw

    cjk = fonts.cjk_path is not None
    img = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    number = f"DN{rng.randint(2020, 2026)}{rng.randint(0, 99999):05d}"
    rows = [(g, rng.randint(1, 60), rng.randint(1, 40) * 5) for g in rng.sample(_GOODS, 3)]
    total = sum(w for _g, _q, w in rows)
    draw.text(
        (30, 20),
        "送货单 Delivery Note" if cjk else "Delivery Note",
        font=fonts.get(30),
        fill=(0, 0, 0),
    )
    draw.text((30, 70), f"No.: {number}", font=fonts.get(22), fill=(0, 0, 0))
    header = ("品名 Item", "数量 Qty", "重量 kg") if cjk else ("Item", "Qty", "Weight kg")
    for col, text in zip((30, 360, 480), header, strict=True):
        draw.text((col, 120), text, font=fonts.get(22), fill=(0, 0, 0))
    for i, ((en, zh), qty, weight) in enumerate(rows):
        y = 165 + i * 50
        draw.text((30, y), f"{zh} {en}" if cjk else en, font=fonts.get(22), fill=(0, 0, 0))
        draw.text((360, y), str(qty), font=fonts.get(22), fill=(0, 0, 0))
        draw.text((480, y), str(weight), font=fonts.get(22), fill=(0, 0, 0))
    draw.text(
        (30, 330),
        ("合计 Total" if cjk else "Total") + f": {total} kg",
        font=fonts.get(24),
        fill=(0, 0, 0),
    )
    kind = rng.randrange(3)
    if kind == 0:
        question, answer = "What is the delivery note number?", number
    elif kind == 1:
        (en, _zh), qty, _w = rows[rng.randrange(3)]
        question, answer = f"What quantity of '{en}' is listed on the delivery note?", str(qty)
    else:
        question, answer = "What is the total weight in kg on the delivery note?", str(total)
    return (
        img,
        question + " Answer with the value only.",
        [answer],
        {"number": number, "rows": [[en, q, w] for (en, _z), q, w in rows]},
    )


MAKERS: dict[str, Callable[[random.Random, _Fonts], _Made]] = {
    "parcel_count": _parcel_count,
    "localisation": _localisation,
    "waybill_ocr": _waybill,
    "damaged_parcel": _damaged,
    "stacking_rule": _stacking,
    "safety_lane": _safety_lane,
    "safety_helmet": _safety_helmet,
    "dock_occupancy": _dock,
    "delivery_note_qa": _delivery_note,
}


@dataclass(frozen=True)
class Generated:
    folder: Path
    items: list[Item]
    cjk: bool
    font: str


def generate(
    out_dir: Path,
    *,
    per_type: int = 5,
    seed: int = 0,
    item_types: list[str] | None = None,
    cjk_font: Path | None | bool = True,
) -> Generated:
    """Write `per_type` items of each item type to a new folder `out_dir`: `items.jsonl`,
    `images/*.png` and `manifest.json` (seed, font, whether Chinese text was drawn).

    `cjk_font=True` finds an installed CJK font, `False`/None draws English only, a path uses
    that font. Never writes into an existing `out_dir` (DataError); a failed run removes only
    the folder it created.
    """
    types = list(ITEM_TYPES) if item_types is None else item_types
    unknown = [t for t in types if t not in ITEM_TYPES]
    if unknown:
        raise DataError(
            f"unknown logistics item type {unknown[0]!r}", hint=f"one of {', '.join(ITEM_TYPES)}"
        )
    if per_type < 1:
        raise DataError(f"per_type must be at least 1, got {per_type}")
    font_path = find_cjk_font() if cjk_font is True else (Path(cjk_font) if cjk_font else None)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=False)
    except FileExistsError:
        raise DataError(
            f"{out_dir} already exists", hint="pingce does not overwrite a folder; name a new one"
        ) from None
    try:
        fonts = _Fonts(font_path)
        (out_dir / "images").mkdir()
        items: list[Item] = []
        for type_name in types:
            spec = ITEM_TYPES[type_name]
            for k in range(per_type):
                # one stream per (seed, type, k): adding a type leaves the others unchanged
                rng = random.Random(f"{seed}:{type_name}:{k}")
                img, question, answers, meta = MAKERS[type_name](rng, fonts)
                item_id = f"{type_name}-{k:04d}"
                rel = f"images/{item_id}.png"
                img.save(out_dir / rel, format="PNG")
                items.append(
                    Item(
                        item_id,
                        rel,
                        question,
                        answers,
                        type_name,
                        spec.indicator,
                        spec.name,
                        spec.name_zh,
                        spec.metric,
                        meta,
                    )
                )
        with (out_dir / "items.jsonl").open("w", encoding="utf-8") as fh:
            for item in items:
                fh.write(json.dumps(asdict(item), ensure_ascii=False) + "\n")
        manifest = {
            "seed": seed,
            "per_type": per_type,
            "item_types": types,
            "cjk": font_path is not None,
            "font": fonts.name,
            "width": WIDTH,
            "height": HEIGHT,
        }
        (out_dir / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise
    return Generated(out_dir, items, font_path is not None, fonts.name)
