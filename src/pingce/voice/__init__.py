"""Deepfake-voice identification testing: score files, metrics, test-set builder, baseline CM."""
