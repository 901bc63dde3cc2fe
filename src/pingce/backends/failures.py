"""Requests that failed after their retries, reported per request so tasks can keep the rest.

A served backend answers a batch of requests; some may fail for good (retries exhausted, a
non-retryable status). It raises `RequestsFailed` once every other request of the batch has
finished and been kept, so the task layer can store the affected samples as failed records
(with their reasons) and a resumed run sends exactly those requests again.
"""

from __future__ import annotations


class RequestsFailed(Exception):
    """Some requests of a backend call failed; `reasons` maps request index -> reason."""

    def __init__(self, reasons: dict[int, str], total: int) -> None:
        first = reasons[min(reasons)]
        super().__init__(f"{len(reasons)} of {total} requests failed (first: {first})")
        self.reasons = reasons
        self.total = total
