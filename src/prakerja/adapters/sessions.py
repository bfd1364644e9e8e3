"""Token revocation on the registration item (implements prakerja.domain.sessions.SessionStore)."""

from __future__ import annotations

from typing import Any

from prakerja.adapters.keys import reg_key
from prakerja.adapters.table import Table

# Appends one processing event in the same write as the state change (docs/ARCHITECTURE.md).
APPEND_EVENTS = "events = list_append(if_not_exists(events, :empty), :ev)"


def event_values(now: int, *names: str) -> dict[str, Any]:
    return {":empty": [], ":ev": [{"e": name, "t": now} for name in names]}


class DynamoSessionStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def revoke_tokens(self, registration_id: str, generation: int, now: int) -> bool:
        return bool(
            self._table.update_if(
                reg_key(registration_id),
                "SET token_gen = :next, " + APPEND_EVENTS,
                "attribute_exists(pk) AND (attribute_not_exists(token_gen) OR token_gen <= :gen)",
                {":next": generation + 1, ":gen": generation, **event_values(now, "signed_out")},
            )
        )
