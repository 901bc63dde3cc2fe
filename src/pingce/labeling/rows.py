"""A stored label row read by name.

Records keep each label as a compact JSON list (so a store stays small and older stores stay
readable): ``[label, x, y, w, h, score, text, area, iscrowd]``, with ``x..h`` None for an
image-level label, ``area`` the source's own (COCO ``area``) or None for ``w*h``, ``iscrowd``
1 for a crowd region (COCO's ignore). Rows stored before ``area``/``iscrowd`` existed hold
the first seven fields only. Code reads them through `LabelRow`, never by position.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple


class LabelRow(NamedTuple):
    label: str
    x: float | None
    y: float | None
    w: float | None
    h: float | None
    score: float | None = None
    text: str | None = None
    area: float | None = None
    iscrowd: int = 0

    @classmethod
    def of(cls, stored: Sequence[Any]) -> LabelRow:
        """The named view of a stored row (7 to 9 fields)."""
        return cls(*stored[:9])

    @property
    def is_box(self) -> bool:
        """A box (False: an image-level label, a tag)."""
        return self.x is not None

    @property
    def bbox(self) -> list[Any]:
        """[x, y, w, h] (COCO order)."""
        return [self.x, self.y, self.w, self.h]

    @property
    def box_area(self) -> float:
        """w * h in square pixels (the box's, not the source's ``area``)."""
        return float(self.w) * float(self.h)  # type: ignore[arg-type]

    @property
    def crowd(self) -> bool:
        return bool(self.iscrowd)


def label_rows(stored: Iterable[Sequence[Any]]) -> list[LabelRow]:
    """Named views of a record's stored rows, in stored order (indices stay valid)."""
    return [LabelRow.of(r) for r in stored]
