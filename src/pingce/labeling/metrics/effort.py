"""Human correction effort: what a person changed to turn auto-labels into the final labels.

Per image the predictions are matched to the corrected (final) objects with the same greedy
matching as detection (`matching.match_boxes`, IoU >= ``match_iou``):

- **kept**: same label and IoU >= ``kept_iou`` (the box was left as it was);
- **edited**: matched but moved/resized (IoU < ``kept_iou``) or relabelled;
- **deleted**: a prediction with no final counterpart; **added**: a final object with no
  prediction.

Estimated seconds per image = per_image + verify·kept + adjust·moved + relabel·relabelled
+ delete·deleted + draw·added; from scratch = per_image + draw·(final objects). The default
costs are listed in `EffortCosts` with their sources; pass your own measured costs when you
have them. Where the corrected set is a Label Studio export, its ``lead_time`` (seconds the
annotator spent per task) gives the measured time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pingce.labeling.metrics.matching import match_boxes
from pingce.labeling.rows import label_rows


@dataclass(frozen=True)
class EffortCosts:
    """Seconds per action.

    draw_box 7.0: a box drawn by extreme clicking (Papadopoulos et al., "Extreme clicking for
    efficient object annotation", ICCV 2017, 7.0 s per box; the older draw-and-verify
    protocol they compare against took 34.5 s). The other defaults are pingce's working
    assumptions, not measurements: adjust_box 3.0 (drag an edge or two), relabel 2.0 (pick
    another class), delete 1.0, verify 0.5 (glance at a correct box), per_image 2.0 (open,
    inspect, submit), classify 1.5 (choose an image-level class).
    """

    draw_box: float = 7.0
    adjust_box: float = 3.0
    relabel: float = 2.0
    delete: float = 1.0
    verify: float = 0.5
    per_image: float = 2.0
    classify: float = 1.5

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def image_effort(
    pred: Sequence[Sequence[Any]],
    final: Sequence[Sequence[Any]],
    costs: EffortCosts,
    match_iou: float = 0.5,
    kept_iou: float = 0.95,
) -> dict[str, Any]:
    """Counts and seconds for one image. pred/final rows: (label, x, y, w, h, ...); a row with
    x None is an image-level (classification) label."""
    pred_rows, final_rows = label_rows(pred), label_rows(final)
    boxes_p = [r for r in pred_rows if r.is_box]
    boxes_f = [r for r in final_rows if r.is_box]
    tags_p = {r.label for r in pred_rows if not r.is_box}
    tags_f = {r.label for r in final_rows if not r.is_box}
    m = match_boxes(
        [r.label for r in boxes_f],
        [r.bbox for r in boxes_f],
        [r.label for r in boxes_p],
        [r.bbox for r in boxes_p],
        match_iou,
        kept_iou,
    )
    kept = sum(1 for _, _, v in m.valid if v >= kept_iou)
    moved = len(m.valid) - kept + sum(1 for _, _, v in m.mismatched if v < kept_iou)
    relabelled = len(m.mismatched)
    deleted, added = len(m.extra), len(m.missing)
    corrections = [1.0 - v for _, _, v in m.valid + m.mismatched]
    tag_kept = len(tags_p & tags_f)
    tag_changed = min(len(tags_p - tags_f), len(tags_f - tags_p))
    tag_deleted = len(tags_p - tags_f) - tag_changed
    tag_added = len(tags_f - tags_p) - tag_changed
    seconds = (
        costs.per_image
        + costs.verify * (kept + tag_kept)
        + costs.adjust_box * moved
        + costs.relabel * (relabelled + tag_changed)
        + costs.delete * (deleted + tag_deleted)
        + costs.draw_box * added
        + costs.classify * tag_added
    )
    scratch = costs.per_image + costs.draw_box * len(boxes_f) + costs.classify * len(tags_f)
    return {
        "kept": kept + tag_kept,
        "edited": (len(m.valid) - kept) + relabelled + tag_changed,
        "moved": moved,
        "relabelled": relabelled + tag_changed,
        "deleted": deleted + tag_deleted,
        "added": added + tag_added,
        "predicted": len(pred),
        "final": len(final),
        "box_corrections": corrections,  # 1 - IoU of each matched box
        "estimated_s": seconds,
        "scratch_s": scratch,
    }
