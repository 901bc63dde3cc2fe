"""`pingce import lm-eval`: lm-evaluation-harness task YAMLs converted into pingce suites.

The YAML files are read as data; lm-eval is never imported and no Python named by a
`!function` tag is executed. What cannot be expressed as a pingce task field is reported per
task (field, value, why), never dropped silently.
"""

from pingce.llm.lmeval_import.convert import Gap, ImportResult, TaskReport, convert

__all__ = ["Gap", "ImportResult", "TaskReport", "convert"]
