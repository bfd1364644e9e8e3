"""inspect_photo: one PhotoQueue message (an S3 event notification) -> inspect each uploaded
object -> ACCEPTED / REJECTED."""

from __future__ import annotations

import json
from typing import Protocol

from prakerja.domain.photo import decode_s3_event_key
from prakerja.domain.photo_service import InspectionOutcome
from prakerja.workers import Count, Log, QueueMessage

OUTCOME_METRICS = {"ACCEPTED": "PhotoAccepted", "REJECTED": "PhotoRejected"}


class PhotoInspector(Protocol):
    def inspect_photo(self, key: str) -> InspectionOutcome: ...


def object_keys(body: str) -> list[str]:
    """Object keys of an S3 event notification (the s3:TestEvent has none)."""
    try:
        event = json.loads(body)
    except ValueError:
        return []
    if not isinstance(event, dict):
        return []
    return [
        decode_s3_event_key(r["s3"]["object"]["key"])
        for r in event.get("Records", [])
        if str(r.get("eventName", "")).startswith("ObjectCreated") and "s3" in r
    ]


class InspectPhotoWorker:
    def __init__(self, inspector: PhotoInspector, log: Log, count: Count) -> None:
        self._inspector = inspector
        self._log = log
        self._count = count

    def inspect_photo(self, message: QueueMessage) -> None:
        for key in object_keys(message.body):
            outcome = self._inspector.inspect_photo(key)
            self._log.info("photo inspected", extra={"outcome": outcome.status, "reason": outcome.reason})
            if outcome.status in OUTCOME_METRICS:
                self._count(OUTCOME_METRICS[outcome.status], 1)
