"""Readers and writers for training-data files (JSONL plain/.gz/.zst, Parquet, CSV, text folders)."""
