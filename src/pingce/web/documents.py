"""Report documents for the dashboard, built by core and kept in a small cache.

`build_report_doc` recomputes a run's scores from all its stored records (bootstrap CIs
included), which is right for a report but too slow to repeat on every page view. A finished
run cannot change without its status or `updated_at` changing (a resume sets it running), or
the digest of its stored records and summary changing (an edit behind pingce's back), so those
key the cache; a running run also keys on its record count, so progress shows.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from pingce.core.integrity import current_seal
from pingce.core.reporting import build_report_doc
from pingce.core.store import RunRow, Store

CACHE_SIZE = 32


class DocumentCache:
    """Thread-safe LRU of report documents (the server runs page handlers in threads)."""

    def __init__(self, store: Store, size: int = CACHE_SIZE) -> None:
        self.store = store
        self.size = size
        self._docs: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, row: RunRow) -> tuple[Any, ...]:
        live = row.status in {"created", "running"}
        count = self.store.count_records(row.id) if live else None
        # Records rewritten behind pingce's back change neither status nor updated_at: the
        # digest of what is stored now keys a finished run, so its page shows the change
        # (and the integrity warning) at once.
        now = None if live else current_seal(self.store, row)["digest"]
        return (row.id, row.status, str(row.updated_at), count, now)

    def get(self, row: RunRow) -> dict[str, Any]:
        """The run's report document (raises PingceError when its standard is not installed)."""
        key = self._key(row)
        with self._lock:
            doc = self._docs.get(key)
            if doc is not None:
                self._docs.move_to_end(key)
                return doc
        doc = build_report_doc(self.store, row)
        with self._lock:
            self._docs[key] = doc
            while len(self._docs) > self.size:
                self._docs.popitem(last=False)
        return doc
