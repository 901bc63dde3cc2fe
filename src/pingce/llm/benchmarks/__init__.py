"""Built-in benchmarks read in their official release formats (see docs/standards/llm-benchmarks.md).

`readers` turns each release layout (or its Hugging Face hub copy) into rows with the fields
the benchmark's task type renders; `source` holds the dataset spec of benchmark tasks; `tasks`
defines one task type per benchmark with its commonly reported prompt, extraction and metric.
"""
