"""Funnel steps and how they are recognised from a registration's progress before and after
a change.

Counted from the table's change stream (the adapter decodes each change into `Progress`),
so counting never adds work or contention to the request path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STEPS = ("registered", "email_verified", "nik_verified", "photo_accepted", "joined")
LABELS = {
    "registered": "Registrations",
    "email_verified": "Email verified",
    "nik_verified": "NIK verified",
    "photo_accepted": "Photo accepted",
    "joined": "Joined a batch",
}


@dataclass(frozen=True)
class Progress:
    """How far one registration has come (one side of a change)."""

    email_verified: bool = False
    nik_verified: bool = False
    photo_accepted: bool = False
    joined: bool = False


def transitions(created: bool, before: Progress | None, after: Progress) -> list[str]:
    """The funnel steps a registration reached with this change (each step once per person)."""
    old = before or Progress()
    reached = []
    if created:
        reached.append("registered")
    if after.email_verified and not old.email_verified:
        reached.append("email_verified")
    if after.nik_verified and not old.nik_verified:
        reached.append("nik_verified")
    if after.photo_accepted and not old.photo_accepted:
        reached.append("photo_accepted")
    if after.joined and not old.joined:
        reached.append("joined")
    return reached


def funnel_table(counts: Mapping[str, int]) -> list[dict[str, Any]]:
    """Rows of (step, count, share of registrations), like the 2020 press release."""
    base = counts.get("registered", 0)
    return [
        {
            "step": step,
            "label": LABELS[step],
            "count": int(counts.get(step, 0)),
            "share": round(counts.get(step, 0) / base, 4) if base else 0.0,
        }
        for step in STEPS
    ]
