"""The vision standard's task types, their suite fields, and where their data comes from.

- ``vision.classification``: an image classifier on an ImageFolder (or ``builtin:digits``);
- ``vision.defects``: an anomaly detector on an MVTec AD category (or ``builtin:defects``,
  the seeded synthetic surfaces of `pingce.vision.synthetic`);
- ``vision.continual``: a learning system on a class- or domain-incremental stream;
- ``vision.framestream``: a system fed frames at a target rate (`pingce.vision.framestream`).

Every task may state `requirements` (indicator id -> ">= 0.9" / "<= 50"): the report's
pass/fail table judges them.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pingce.core.errors import DataError, SpecError

if TYPE_CHECKING:
    from pingce.vision.datasets import Sample

TASK_TYPES = (
    "vision.classification",
    "vision.defects",
    "vision.segmentation",
    "vision.detection",
    "vision.continual",
    "vision.framestream",
)
REQUIREMENT = re.compile(r"^\s*(>=|<=)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$")


def parse_requirement(text: str) -> tuple[str, float]:
    """'>= 0.9' -> ('higher', 0.9); '<= 50' -> ('lower', 50.0)."""
    m = REQUIREMENT.match(str(text))
    if not m:
        raise ValueError(f"requirement {text!r}: expected '>= NUMBER' or '<= NUMBER'")
    return ("higher" if m.group(1) == ">=" else "lower"), float(m.group(2))


class TaskBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    type: str
    title: str = ""
    title_zh: str = ""
    dimension: str = "quality"
    language: str = "en"
    weight: float = 1.0
    requirements: dict[str, str] = Field(default_factory=dict)

    @field_validator("requirements")
    @classmethod
    def _check_requirements(cls, value: dict[str, str]) -> dict[str, str]:
        from pingce.vision.catalogue import BY_NAME

        for name, text in value.items():
            if name not in BY_NAME:
                raise ValueError(
                    f"unknown indicator {name!r}; one of: {', '.join(sorted(BY_NAME))}"
                )
            parse_requirement(text)
        return value


class ImageTask(TaskBase):
    dataset: str
    image_size: tuple[int, int] = (64, 64)
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    batch_size: int = Field(default=16, ge=1, le=4096)
    limit: int | None = Field(default=None, ge=1)

    @field_validator("image_size")
    @classmethod
    def _positive(cls, v: tuple[int, int]) -> tuple[int, int]:
        if min(v) < 1 or max(v) > 8192:
            raise ValueError("image_size must be two sizes between 1 and 8192")
        return v

    @field_validator("std")
    @classmethod
    def _nonzero(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(s <= 0 for s in v):
            raise ValueError("std values must be > 0")
        return v


class ClassificationTask(ImageTask):
    type: Literal["vision.classification"]
    ece_bins: int = Field(default=15, ge=1, le=1000)
    # Class names in the model's output order; default: the dataset's classes.
    class_names: list[str] | None = None


class DefectsTask(ImageTask):
    type: Literal["vision.defects"]
    map_size: int = Field(
        default=64, ge=4, le=1024
    )  # anomaly maps and masks are scored at this size
    fpr_limit: float = Field(default=0.3, gt=0, le=1)


class SegmentationTask(ImageTask):
    """Semantic segmentation: `dataset` is a folder with images/ and masks/ (same stem, PNG
    class indices, 255 = ignore), or an MVTec AD category / `builtin:defects` (classes
    background and defect from the defect masks)."""

    type: Literal["vision.segmentation"]
    class_names: list[str] | None = None  # default: background, defect (MVTec layouts)
    ignore_index: int = 255
    boundary_tolerance_px: float = Field(default=2.0, ge=0)


class DetectionTask(ImageTask):
    """Object detection: `dataset` is a COCO JSON file (images under `images`, default its
    folder), a YOLO folder, a VOC folder, or `builtin:defects` (one box per connected defect
    region, labelled by type)."""

    type: Literal["vision.detection"]
    images: str | None = None
    class_names: list[str] | None = None  # the model's label order; default: the dataset's
    iou_threshold: float = Field(default=0.5, gt=0, le=1)
    score_threshold: float = Field(default=0.5, ge=0)  # for P/R/F1 (AP uses every box)


class ContinualTask(TaskBase):
    type: Literal["vision.continual"]
    dimension: str = "continual"
    dataset: str = "builtin:digits"
    scenario: Literal["class-incremental", "domain-incremental"] = "class-incremental"
    n_experiences: int = Field(default=5, ge=2, le=100)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1, max_length=20)
    test_fraction: float = Field(default=0.3, gt=0, lt=1)
    image_size: tuple[int, int] = (32, 32)
    limit: int | None = Field(default=None, ge=10)
    # Active-learning curves: shares of each experience's labels, and how they are chosen.
    label_budgets: list[float] = Field(default_factory=list, max_length=20)
    query_strategies: list[Literal["margin", "random"]] = Field(
        default_factory=lambda: ["margin", "random"], min_length=1
    )

    @field_validator("label_budgets")
    @classmethod
    def _budgets(cls, v: list[float]) -> list[float]:
        if any(not 0 < b < 1 for b in v):
            raise ValueError("label budgets are shares of the labels, each > 0 and < 1")
        return sorted(set(v))


class Search(BaseModel):
    model_config = ConfigDict(extra="forbid")
    low_fps: float = Field(gt=0)
    high_fps: float = Field(gt=0)
    steps: int = Field(default=6, ge=1, le=30)
    probe_duration_s: float = Field(default=1.0, gt=0, le=600)


class FrameStreamTask(TaskBase):
    type: Literal["vision.framestream"]
    dimension: str = "performance"
    dataset: str = "builtin:digits"
    image_size: tuple[int, int] = (32, 32)
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    fps: float = Field(default=100.0, gt=0, le=100000)
    duration_s: float = Field(default=2.0, gt=0, le=3600)
    burst_size: int = Field(default=1, ge=1, le=10000)  # frames arriving together each period
    queue_depth: int = Field(default=4, ge=1, le=100000)
    deadline_ms: float = Field(default=100.0, gt=0)
    sched_tolerance_ms: float = Field(default=1.0, gt=0)
    # The stream's bounds (its VALID verdict and the search's pass test); p99 default: deadline.
    max_drop_rate: float = Field(default=0.01, ge=0, le=1)
    max_p99_ms: float | None = Field(default=None, gt=0)
    search: Search | None = None
    # "process": the generator runs in its own process (no shared interpreter lock with an
    # in-process system; `pingce.vision.framestream_process`).
    generator: Literal["thread", "process"] = "thread"
    frames: int = Field(default=64, ge=1, le=100000)  # distinct frames cycled through


PARAMS: dict[str, type[TaskBase]] = {
    "vision.classification": ClassificationTask,
    "vision.defects": DefectsTask,
    "vision.segmentation": SegmentationTask,
    "vision.detection": DetectionTask,
    "vision.continual": ContinualTask,
    "vision.framestream": FrameStreamTask,
}


def resolve_path(ref: str, base_dir: Path) -> Path:
    p = Path(ref).expanduser()
    return p if p.is_absolute() else (base_dir / p)


def builtin_defects_dir(seed: int = 0) -> Path:
    """The synthetic defect set (MVTec layout), written once into pingce's cache."""
    from pingce.core.paths import cache_root
    from pingce.vision.synthetic import DefectSetConfig, write_defect_set

    root = cache_root() / "vision" / f"defects-v1-seed{seed}"
    cat = root / "surface"
    if (cat / "test").is_dir():
        return cat
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".defects-", dir=root.parent))
    write_defect_set(tmp, DefectSetConfig(seed=seed))
    try:
        tmp.rename(root)
    except OSError:  # another process wrote it first
        shutil.rmtree(tmp, ignore_errors=True)
    return cat


def classification_data(ref: str, base_dir: Path) -> tuple[list[str], list[Sample]]:
    from pingce.vision.datasets import digits, image_folder

    if ref == "builtin:digits":
        return digits()
    if ref.startswith("builtin:"):
        raise SpecError(f"dataset {ref!r}: the built-in classification set is builtin:digits")
    if ref.startswith("hf:"):
        from pingce.vision.datasets import hf_images

        target, _, split = ref[3:].partition("?split=")
        return hf_images(resolve_path(target, base_dir), split or None)
    return image_folder(resolve_path(ref, base_dir))


def defect_data(ref: str, base_dir: Path) -> tuple[Path, list[Sample]]:
    from pingce.vision.datasets import mvtec

    if ref.startswith("builtin:defects"):
        root = builtin_defects_dir()
    elif ref.startswith("builtin:"):
        raise SpecError(f"dataset {ref!r}: the built-in defect set is builtin:defects")
    else:
        root = resolve_path(ref, base_dir)
    samples = mvtec(root, "test")
    if len({s.label for s in samples}) < 2:
        raise DataError(f"{root}: the test split needs good and defective images for AUROC")
    return root, samples


def segmentation_data(
    ref: str, base_dir: Path, class_names: list[str] | None
) -> tuple[list[str], list[Sample]]:
    """(class names, samples with `mask`): images/ + masks/ folders, or an MVTec layout whose
    defect masks give the classes background (0) and defect (1)."""
    from pingce.vision.datasets import IMAGE_SUFFIXES, Sample, file_digest, mvtec

    root = builtin_defects_dir() if ref == "builtin:defects" else resolve_path(ref, base_dir)
    if (root / "test").is_dir() and (root / "ground_truth").is_dir():
        return class_names or ["background", "defect"], mvtec(root, "test")
    images, masks = root / "images", root / "masks"
    if not images.is_dir() or not masks.is_dir():
        raise DataError(
            f"segmentation dataset {root}: expected images/ and masks/ folders (or an MVTec AD category)"
        )
    if not class_names:
        raise SpecError(
            f"segmentation dataset {root}: name its classes",
            hint="class_names: [background, ...] in the task",
        )
    out = []
    for p in sorted(q for q in images.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES):
        m = masks / f"{p.stem}.png"
        if not m.is_file():
            raise DataError(f"{p}: its mask {m} is missing")
        out.append(Sample(str(p.relative_to(root)), p, 0, file_digest(p) + file_digest(m), mask=m))
    if not out:
        raise DataError(f"{images} holds no images")
    return class_names, out


def detection_data(ref: str, base_dir: Path, images: str | None) -> tuple[list[str], list[Sample]]:
    """(class names, samples whose `boxes` are gold rows [label, x, y, w, h])."""
    import numpy as np

    from pingce.vision.datasets import Sample, coco, file_digest, load_mask, mvtec, voc, yolo

    if ref == "builtin:defects":
        from scipy.ndimage import find_objects, label

        out = []
        for s in mvtec(builtin_defects_dir(), "test"):
            rows: list[list[Any]] = []
            if s.mask is not None:
                lab, _ = label(load_mask(s.mask, (0, 0)), structure=np.ones((3, 3), dtype=int))
                for sl in find_objects(lab):
                    y, x = sl[0].start, sl[1].start
                    rows.append(
                        [s.kind, float(x), float(y), float(sl[1].stop - x), float(sl[0].stop - y)]
                    )
            out.append(Sample(s.id, s.path, s.label, s.digest, s.mask, s.kind, boxes=rows))
        return ["crack", "scratch", "spot"], out
    ann = resolve_path(ref, base_dir)
    if ann.is_dir() and (ann / "Annotations").is_dir():
        names, imgs = voc(ann)
        folder = ann
    elif ann.is_dir() and (ann / "classes.txt").is_file():
        names, imgs = yolo(ann)
        folder = ann
    elif ann.is_file():
        folder = resolve_path(images, base_dir) if images else ann.parent
        names, imgs = coco(ann, folder)
    else:
        raise DataError(
            f"detection dataset {ann} does not exist or is not COCO, YOLO or VOC",
            hint="a COCO .json, a YOLO folder (images/, labels/, classes.txt) or a VOC folder (Annotations/, JPEGImages/)",
        )
    out = []
    for im in imgs:
        path = folder / im["file"]
        if not path.is_file():
            raise DataError(
                f"{ann}: image {path} does not exist",
                hint="set images: to the folder of the COCO file_name paths",
            )
        out.append(Sample(im["file"], path, 0, file_digest(path), boxes=im["gold"]))
    return names, out


def frame_data(ref: str, base_dir: Path, limit: int = 100000) -> tuple[list[str], list[Sample]]:
    """Frames for a stream: a classification set (labels give accuracy under load), an
    MVTec category (`builtin:defects` or a folder with test/), or a video file (its first
    `limit` frames, unlabelled)."""
    from pingce.vision.datasets import VIDEO_SUFFIXES, mvtec, video_frames

    if ref == "builtin:defects":
        return ["good", "defective"], defect_data(ref, base_dir)[1]
    if Path(ref).suffix.lower() in VIDEO_SUFFIXES:
        return ["frame"], video_frames(resolve_path(ref, base_dir), limit)
    path = resolve_path(ref, base_dir) if not ref.startswith("builtin:") else None
    if path is not None and (path / "test").is_dir() and (path / "ground_truth").is_dir():
        return ["good", "defective"], mvtec(path, "test")
    return classification_data(ref, base_dir)


def spec_dict(params: BaseModel) -> dict[str, Any]:
    return params.model_dump(mode="json", exclude={"title", "title_zh", "requirements"})
