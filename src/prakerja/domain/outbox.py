"""What the outbox relay does with one batch of table changes (pure planning)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prakerja.domain.funnel import Progress, transitions


@dataclass(frozen=True)
class OutboxEntry:
    """An outbox job inserted in the table (to forward to its queue)."""

    outbox_id: str
    kind: str
    registration_id: str
    payload: Mapping[str, Any]

    def message(self) -> str:
        return json.dumps(
            {
                "outbox_id": self.outbox_id,
                "kind": self.kind,
                "registration_id": self.registration_id,
                "payload": dict(self.payload),
            },
            separators=(",", ":"),
        )


@dataclass(frozen=True)
class RegistrationChange:
    created: bool
    before: Progress | None
    after: Progress


@dataclass(frozen=True)
class Change:
    """One change of the table, decoded by the adapter: an outbox insert, a registration
    change, or neither (any other item)."""

    event_id: str
    sequence_number: str
    outbox: OutboxEntry | None = None
    registration: RegistrationChange | None = None


@dataclass
class RelayPlan:
    # kind -> list of (record index, message body)
    messages: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    # (record index, event id, funnel step)
    increments: list[tuple[int, str, str]] = field(default_factory=list)


def plan(changes: Sequence[Change]) -> RelayPlan:
    result = RelayPlan()
    for index, change in enumerate(changes):
        if change.outbox is not None:
            result.messages.setdefault(change.outbox.kind, []).append((index, change.outbox.message()))
        reg = change.registration
        if reg is not None:
            for step in transitions(reg.created, reg.before, reg.after):
                result.increments.append((index, change.event_id, step))
    return result
