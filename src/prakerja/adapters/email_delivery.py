"""The registration behind a bounced or complaining address (its EMAIL# claim), and its
`email_delivery` mark (implements prakerja.domain.email_delivery.DeliveryStore)."""

from __future__ import annotations

from prakerja.adapters.keys import email_key, reg_key
from prakerja.adapters.table import Table
from prakerja.domain.email_delivery import DELIVERY_RANK, EmailDelivery


class DynamoDeliveryStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def registration_for_email(self, email: str) -> str | None:
        item = self._table.get(email_key(email))
        if not item or "registration_id" not in item:
            return None
        return str(item["registration_id"]["S"])

    def mark_delivery(self, registration_id: str, email: str, delivery: EmailDelivery, at: int) -> bool:
        # never downgrade (a complaint stays a complaint), and only while the email is that address
        same_or_worse = [state for state, rank in DELIVERY_RANK.items() if rank >= DELIVERY_RANK[delivery]]
        placeholders = {f":s{i}": state for i, state in enumerate(same_or_worse)}
        condition = (
            "attribute_exists(pk) AND email = :e AND "
            f"(attribute_not_exists(email_delivery) OR NOT email_delivery IN ({', '.join(placeholders)}))"
        )
        return bool(
            self._table.update_if(
                reg_key(registration_id),
                "SET email_delivery = :d, email_delivery_at = :t",
                condition,
                {":e": email, ":d": delivery, ":t": at, **placeholders},
            )
        )
