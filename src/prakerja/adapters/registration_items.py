"""The registration item and its email claim as stored (DynamoDB attribute maps <-> domain
types), shared by every store that reads or writes a registration."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

from prakerja.adapters.dynamo_codec import Item, from_item, to_item
from prakerja.adapters.keys import email_key, reg_key
from prakerja.adapters.table import Table
from prakerja.domain.models import Consent, EmailClaim, ProcessingEvent, Registration

_REG_FIELDS = {f.name for f in dataclasses.fields(Registration)}
# On a registration that took over an unverified one's email (not a new person for the funnel).
TAKEOVER_MARK = "takeover"
# Appends one event to the registration's processing history, in the write of the state change.
APPEND_EVENT = "events = list_append(if_not_exists(events, :no_events), :event)"


def event_values(name: str, at: int) -> dict[str, Any]:
    """ExpressionAttributeValues (plain values) for APPEND_EVENT."""
    return {":no_events": [], ":event": [{"e": name, "t": int(at)}]}


def registration_to_item(reg: Registration) -> Item:
    values = {f.name: getattr(reg, f.name) for f in dataclasses.fields(Registration)}
    consent = reg.consent
    values["consent"] = (
        {"terms_version": consent.terms_version, "accepted": True, "accepted_at": consent.accepted_at}
        if consent
        else None
    )
    values["events"] = [{"e": e.name, "t": e.at} for e in reg.events]
    item = to_item(values)
    item.update(reg_key(reg.registration_id))
    return item


def _events(raw: Any) -> tuple[ProcessingEvent, ...]:
    if not isinstance(raw, Sequence):
        return ()
    return tuple(
        ProcessingEvent(str(e["e"]), int(e["t"])) for e in raw if isinstance(e, Mapping) and "e" in e and "t" in e
    )


def registration_from_item(item: Item) -> Registration:
    values = from_item(item)
    fields = {k: v for k, v in values.items() if k in _REG_FIELDS}
    consent = values.get("consent")
    fields["consent"] = (
        Consent(str(consent["terms_version"]), int(consent["accepted_at"])) if isinstance(consent, Mapping) else None
    )
    fields["events"] = _events(values.get("events"))
    return Registration(**fields)


def is_expired(values: Mapping[str, Any], now: float) -> bool:
    """An item whose TTL has passed is absent, even while DynamoDB has not deleted it yet."""
    expires_at = values.get("expires_at")
    return isinstance(expires_at, int | float) and expires_at <= now


def get_registration(table: Table, registration_id: str) -> Registration | None:
    """A strongly consistent read of one registration (shared by every store that needs it);
    an unverified registration past its expiry is absent."""
    item = table.get(reg_key(registration_id))
    if not item:
        return None
    reg = registration_from_item(item)
    return None if is_expired({"expires_at": reg.expires_at}, time.time()) else reg


def claim_from_item(item: Item) -> EmailClaim:
    v = from_item(item)
    verified = v.get("verified")
    sent_at = v.get("code_sent_at")
    expires_at = v.get("expires_at")
    return EmailClaim(
        email=str(v["pk"]).removeprefix("EMAIL#"),
        registration_id=str(v["registration_id"]),
        verified=bool(verified) if verified is not None else None,
        expires_at=int(expires_at) if expires_at is not None else None,
        code_sent_at=int(sent_at) if sent_at is not None else None,
        code_day=str(v.get("code_day", "")),
        code_count=int(v.get("code_count", 0)),
    )


def claim_item(reg: Registration) -> Item:
    """The email claim of a new (unverified) registration, carrying its code counters."""
    return {
        **email_key(reg.email),
        **to_item(
            {
                "registration_id": reg.registration_id,
                "created_at": reg.created_at,
                "verified": False,
                "expires_at": reg.expires_at,
                "code_sent_at": reg.code_issued_at,  # when its code email was asked for (the per-address budget)
                "code_day": reg.resend_day,
                "code_count": reg.resend_count,
            }
        ),
    }
