"""Metrics of the ADD (Audio Deepfake Detection) challenges beyond binary detection.

- Partially-fake localisation (ADD 2023 track 2): each utterance is a sequence of real and
  fake regions. Both reference and prediction are rasterised on a frame grid (default 10 ms;
  a frame takes the label at its centre), fake is the positive class, and precision, recall
  and F1 are computed on the frames pooled over all utterances. Sentence accuracy: whether
  the utterance-level decision (fake if any frame is fake) is right. ADD 2023 ranks track 2
  by 0.3 x sentence accuracy + 0.7 x segment F1.
- Algorithm attribution (ADD 2023 track 3): macro-averaged F1 over the generation-algorithm
  classes (each class's F1 from its own precision and recall, then the unweighted mean over
  every class seen in the reference or the prediction; a class with no true and no
  predicted item is absent; F1 is 0 where precision + recall is 0, as scikit-learn's
  zero_division=0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

Segment = tuple[float, float, str]  # start s, end s, "real" | "fake"


def frame_labels(segments: Sequence[Segment], duration: float, step: float = 0.01) -> np.ndarray:
    """Boolean (fake) per frame of `step` seconds over [0, duration)."""
    n = int(round(duration / step))
    centres = (np.arange(n) + 0.5) * step
    fake = np.zeros(n, dtype=bool)
    for start, end, label in segments:
        if label.lower() in {"fake", "spoof"}:
            fake |= (centres >= start) & (centres < end)
    return fake


def segment_scores(
    reference: Mapping[str, Sequence[Segment]],
    predicted: Mapping[str, Sequence[Segment]],
    durations: Mapping[str, float],
    step: float = 0.01,
) -> dict[str, float]:
    """Pooled frame precision/recall/F1 (fake positive), sentence accuracy, ADD 2023 score."""
    tp = fp = fn = 0
    correct = 0
    for utt, dur in durations.items():
        ref = frame_labels(reference.get(utt, []), dur, step)
        hyp = frame_labels(predicted.get(utt, []), dur, step)
        tp += int(np.sum(ref & hyp))
        fp += int(np.sum(~ref & hyp))
        fn += int(np.sum(ref & ~hyp))
        correct += int(ref.any() == hyp.any())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = correct / len(durations) if durations else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "sentence_accuracy": accuracy,
        "add2023_score": 0.3 * accuracy + 0.7 * f1,
    }


def macro_f1(true: Sequence[str], pred: Sequence[str]) -> float:
    """Unweighted mean of per-class F1 over the classes in `true` or `pred`."""
    if len(true) != len(pred):
        raise ValueError(f"{len(true)} reference labels but {len(pred)} predictions")
    t, p = np.asarray(true), np.asarray(pred)
    f1s = []
    for c in sorted(set(true) | set(pred)):
        tp = int(np.sum((t == c) & (p == c)))
        fp = int(np.sum((t != c) & (p == c)))
        fn = int(np.sum((t == c) & (p != c)))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(f1s)) if f1s else 0.0
