"""Shared machinery used by every standard: specs, registry, runs, store, stats, reports."""
