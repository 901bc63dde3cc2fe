"""The voice standard's task types: namespaced names and the older names suites still use.

Canonical names are ``voice.<type>`` (registered in `pingce.core.registry.task_types`); the
names suites were written with before (``voice-scores``, ...) stay accepted as aliases.
"""

from __future__ import annotations

SCORES = "voice.scores"
SYSTEM = "voice.system"
LOCALISATION = "voice.add-localisation"
ATTRIBUTION = "voice.add-attribution"
TYPES = (SCORES, SYSTEM, LOCALISATION, ATTRIBUTION)
ADD_TYPES = (LOCALISATION, ATTRIBUTION)
# older names -> canonical names
ALIASES = {
    "voice-scores": SCORES,
    "voice-system": SYSTEM,
    "voice-add-localisation": LOCALISATION,
    "voice-add-attribution": ATTRIBUTION,
}


def canonical(type_name: str) -> str:
    """The namespaced name of a voice task type (an older alias maps to its new name)."""
    return ALIASES.get(type_name, type_name)


def is_add(type_name: str) -> bool:
    return canonical(type_name) in ADD_TYPES
