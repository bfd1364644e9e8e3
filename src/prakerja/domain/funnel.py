"""Funnel steps and how they are recognised from a registration's old and new state.

Counted from the table's change stream (old image -> new image), so counting never adds
work or contention to the request path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STEPS = ("registered", "email_verified", "nik_verified", "photo_accepted", "joined")
LABELS = {
    "registered": "Registrations",
    "email_verified": "Email verified",
    "nik_verified": "NIK verified",
    "photo_accepted": "Photo accepted",
    "joined": "Joined a batch",
}


def transitions(event_name: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[str]:
    """The funnel steps a registration reached with this change (each step once per person)."""
    if new is None or not str(new.get("pk", "")).startswith("REG#"):
        return []
    before: Mapping[str, Any] = old or {}
    reached = []
    if event_name == "INSERT":
        reached.append("registered")
    if new.get("email_verified") and not before.get("email_verified"):
        reached.append("email_verified")
    if new.get("nik_status") == "VERIFIED" and before.get("nik_status") != "VERIFIED":
        reached.append("nik_verified")
    if new.get("photo_accepted_at") and not before.get("photo_accepted_at"):
        reached.append("photo_accepted")
    if new.get("batch_id") and not before.get("batch_id"):
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
