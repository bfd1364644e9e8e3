"""DynamoDB stream records of the table, decoded into the domain's `Change` (the only place
that knows which item is an outbox job or a registration)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prakerja.adapters.dynamo_codec import from_item
from prakerja.adapters.keys import is_registration, outbox_id
from prakerja.domain.funnel import Progress
from prakerja.domain.outbox import Change, OutboxEntry, RegistrationChange


def _progress(values: Mapping[str, Any]) -> Progress:
    return Progress(
        email_verified=bool(values.get("email_verified")),
        nik_verified=values.get("nik_status") == "VERIFIED",
        photo_accepted=bool(values.get("photo_accepted_at")),
        joined=bool(values.get("batch_id")),
    )


def decode_record(record: Mapping[str, Any]) -> Change:
    ddb = record.get("dynamodb", {})
    event_name = record["eventName"]
    old = from_item(ddb["OldImage"]) if "OldImage" in ddb else None
    new = from_item(ddb["NewImage"]) if "NewImage" in ddb else None
    outbox: OutboxEntry | None = None
    registration: RegistrationChange | None = None
    if new is not None:
        pk = str(new.get("pk", ""))
        job_id = outbox_id(pk)
        if event_name == "INSERT" and job_id is not None:
            outbox = OutboxEntry(job_id, str(new["kind"]), str(new["registration_id"]), new.get("payload") or {})
        elif is_registration(pk):
            # A registration that took over an unverified one's email is the same sign-up again
            # (that one was counted): not counted as registered twice.
            created = event_name == "INSERT" and not new.get("takeover")
            registration = RegistrationChange(
                created=created, before=_progress(old) if old else None, after=_progress(new)
            )
    return Change(record["eventID"], ddb["SequenceNumber"], outbox, registration)
