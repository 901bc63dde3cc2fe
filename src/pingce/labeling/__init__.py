"""Visual-data automatic labeling: label formats, metrics against gold, correction effort,
a synthetic image generator with exact ground truth and reference auto-labelers."""
