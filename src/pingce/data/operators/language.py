"""Language identification with lingua (models ship inside the wheel) and a confidence threshold."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar

from pydantic import Field, field_validator

from pingce.data.document import Document
from pingce.data.operators.base import OPERATORS, Operator, OpParams, Removed

# Candidate languages loaded when the pipeline does not name its own: loading fewer models is
# faster and, for a known corpus, more accurate.
DEFAULT_CANDIDATES = ("en", "zh", "ja", "ko", "fr", "de", "es", "ru", "pt", "it", "ar", "vi")


class LanguageParams(OpParams):
    keep: list[str] = Field(default_factory=list)  # ISO 639-1 codes; empty: annotate only
    candidates: list[str] | None = None  # languages lingua may answer; default a common dozen
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)  # lingua confidence of the top language
    max_chars: int = Field(default=1000, ge=50)  # identify from the first N characters

    @field_validator("keep", "candidates")
    @classmethod
    def _codes(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        from lingua import IsoCode639_1

        out = []
        for code in v:
            c = code.strip().lower()
            if not hasattr(IsoCode639_1, c.upper()):
                raise ValueError(f"{code!r} is not an ISO 639-1 code lingua knows")
            out.append(c)
        return out


@lru_cache(maxsize=8)
def detector(codes: tuple[str, ...]) -> Any:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    isos = [getattr(IsoCode639_1, c.upper()) for c in codes]
    return (
        LanguageDetectorBuilder.from_iso_codes_639_1(*isos).with_preloaded_language_models().build()
    )


def identify(texts: list[str], codes: tuple[str, ...]) -> list[tuple[str, float]]:
    """(ISO 639-1 code, confidence 0-1) per text; ('und', 0) for texts without letters."""
    det = detector(codes)
    out: list[tuple[str, float]] = []
    for values in det.compute_language_confidence_values_in_parallel(texts):
        if not values or values[0].value <= 0:
            out.append(("und", 0.0))
        else:
            top = values[0]
            out.append((top.language.iso_code_639_1.name.lower(), float(top.value)))
    return out


@OPERATORS.register("language")
class LanguageFilter(Operator):
    """Annotate `lang` and `lang_score`; remove documents below the threshold or not in `keep`."""

    name: ClassVar[str] = "language"
    Params = LanguageParams

    def run_batch(self, batch: list[Document]) -> tuple[list[Document], Removed, int]:
        p: LanguageParams = self.params  # type: ignore[assignment]
        codes = tuple(sorted(set(p.candidates or DEFAULT_CANDIDATES) | set(p.keep)))
        results = identify([d.text[: p.max_chars] for d in batch], codes)
        kept: list[Document] = []
        removed: Removed = []
        for doc, (lang, score) in zip(batch, results, strict=True):
            doc.meta["lang"] = lang
            doc.meta["lang_score"] = round(score, 4)
            if score < p.threshold:
                removed.append((doc, "lang_low_confidence"))
            elif p.keep and lang not in p.keep:
                removed.append((doc, f"lang_not_kept:{lang}"))
            else:
                kept.append(doc)
        return kept, removed, 0
