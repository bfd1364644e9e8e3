"""The send lease and sent stamp of a registration's code email, as the send_email worker uses
them (implements prakerja.workers.send_email.Registrations)."""

from __future__ import annotations

from prakerja.adapters.keys import reg_key
from prakerja.adapters.registration_items import get_registration
from prakerja.adapters.table import Table
from prakerja.domain.models import Registration


class DynamoCodeSendStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, registration_id: str) -> Registration | None:
        return get_registration(self._table, registration_id)

    def claim_code_send(self, registration_id: str, nonce: str, holder: str, now: int, lease_s: int) -> bool:
        return bool(
            self._table.update_if(
                reg_key(registration_id),
                "SET code_send_lease = :until, code_send_holder = :me",
                "code_nonce = :n AND email_verified = :f"
                " AND (attribute_not_exists(code_sent_at) OR code_sent_at = :zero)"
                " AND (attribute_not_exists(code_send_lease) OR code_send_lease < :now OR code_send_holder = :me)",
                {":until": now + lease_s, ":me": holder, ":n": nonce, ":f": False, ":zero": 0, ":now": now},
            )
        )

    def release_code_send(self, registration_id: str, holder: str) -> None:
        self._table.update_if(
            reg_key(registration_id),
            "REMOVE code_send_lease, code_send_holder",
            "code_send_holder = :me",
            {":me": holder},
        )

    def mark_code_sent(self, registration_id: str, nonce: str, sent_at: int) -> bool:
        return bool(
            self._table.update_if(
                reg_key(registration_id),
                "SET code_sent_at = :at",
                "code_nonce = :n AND (attribute_not_exists(code_sent_at) OR code_sent_at = :zero)",
                {":at": sent_at, ":n": nonce, ":zero": 0},
            )
        )
