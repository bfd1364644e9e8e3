"""What the outbox relay does with one batch of table changes (pure planning)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prakerja.domain.funnel import transitions


@dataclass(frozen=True)
class Change:
    """One stream record, images already decoded to plain values."""

    event_id: str
    sequence_number: str
    event_name: str
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None


@dataclass
class RelayPlan:
    # kind -> list of (record index, message body)
    messages: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    # (record index, event id, funnel step)
    increments: list[tuple[int, str, str]] = field(default_factory=list)


def outbox_message(new: Mapping[str, Any]) -> str:
    return json.dumps(
        {
            "outbox_id": str(new["pk"]).removeprefix("OUTBOX#"),
            "kind": new["kind"],
            "registration_id": new["registration_id"],
            "payload": new.get("payload") or {},
        },
        separators=(",", ":"),
    )


def plan(changes: Sequence[Change]) -> RelayPlan:
    result = RelayPlan()
    for index, change in enumerate(changes):
        new = change.new or {}
        if change.event_name == "INSERT" and str(new.get("pk", "")).startswith("OUTBOX#"):
            result.messages.setdefault(str(new["kind"]), []).append((index, outbox_message(new)))
        for step in transitions(change.event_name, change.old, change.new):
            result.increments.append((index, change.event_id, step))
    return result
