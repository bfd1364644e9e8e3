"""Every key of the single table, in one place (docs/ARCHITECTURE.md lists the items).

The formats are part of the stored data and of the IAM conditions written against them
(dynamodb:LeadingKeys): change them only with a migration.
"""

from __future__ import annotations

from prakerja.adapters.dynamo_codec import Item, key

REG_PREFIX = "REG#"
OUTBOX_PREFIX = "OUTBOX#"
CATALOGUE_PK = "BATCHES"
FUNNEL_PREFIX = "FUNNEL#"


def reg_key(registration_id: str) -> Item:
    return key(f"{REG_PREFIX}{registration_id}", "REG")


def email_key(email: str) -> Item:
    return key(f"EMAIL#{email}", "EMAIL")


def login_key(throttle_key: str) -> Item:
    return key(f"LOGIN#{throttle_key}", "LOGIN")


def reset_key(email_hash: str) -> Item:
    """A password reset of one email (sha256 hex of the normalised email), known or not."""
    return key(f"RESET#{email_hash}", "RESET")


def idem_key(key_hash: str) -> Item:
    return key(f"IDEM#{key_hash}", "IDEM")


def outbox_key(outbox_id: str) -> Item:
    return key(f"{OUTBOX_PREFIX}{outbox_id}", "OUTBOX")


def nik_claim_key(fingerprint: str) -> Item:
    return key(f"NIK#{fingerprint}", "NIK")


def seen_key(event_id: str) -> Item:
    return key(f"SEEN#{event_id}", "SEEN")


def funnel_shard_key(shard: int) -> Item:
    """One counter shard per partition key (FUNNEL#00..FUNNEL#15): increments spread over partitions."""
    return key(f"{FUNNEL_PREFIX}{shard:02d}", "FUNNEL")


def breaker_key(name: str) -> Item:
    return key(f"BREAKER#{name}", "BREAKER")


def slot_key(name: str, period: int) -> Item:
    return key(f"RATE#{name}#{period}", "RATE")


def catalogue_key(batch_id: str) -> Item:
    return key(CATALOGUE_PK, f"BATCH#{batch_id}")


def seat_pk(batch_id: str, shard: int) -> str:
    return f"SEAT#{batch_id}#{shard}"


def seat_key(batch_id: str, shard: int) -> Item:
    return key(seat_pk(batch_id, shard), "SEAT")


def is_registration(pk: str) -> bool:
    return pk.startswith(REG_PREFIX)


def is_email_claim(pk: str) -> bool:
    return pk.startswith("EMAIL#")


def outbox_id(pk: str) -> str | None:
    """The outbox id of an outbox item's pk; None for any other item."""
    return pk.removeprefix(OUTBOX_PREFIX) if pk.startswith(OUTBOX_PREFIX) else None
