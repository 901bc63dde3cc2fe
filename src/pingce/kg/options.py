"""The kg standard's run options: the common ones and, for a language-model subject
(`kg.build`), the shared backends' options. Nothing else enters a kg run's config hash."""

from __future__ import annotations

from pingce.backends.options import BackendOptions


class KGOptions(BackendOptions):
    """Common options (seed, limit, demo) and the `hf`/`openai` backend options."""
