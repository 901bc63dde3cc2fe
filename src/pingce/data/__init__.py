"""Training-data processing workflow and the data-quality evaluation model (standard `data-quality`).

`pingce data process PIPELINE.yaml` runs a YAML list of operators (readers, cleaners, filters,
PII masking, dedup, writers) over shards; `pingce data evaluate DATASET` grades a dataset with
ISO/IEC 5259-2-style indicators through the shared run pipeline.
"""
