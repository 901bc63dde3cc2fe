"""Metrics of auto-labels against gold: detection, classification, segmentation, text, effort."""
