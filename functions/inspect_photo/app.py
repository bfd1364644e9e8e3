"""SQS PhotoQueue (S3 ObjectCreated events) -> inspect the uploaded bytes -> ACCEPTED / REJECTED."""

import json

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from prakerja.domain.photo import decode_s3_event_key
from prakerja.observability import observability
from prakerja.services import photo_service
from prakerja.workers import sqs_worker

logger, metrics, tracer = observability("inspect_photo")
_METRICS = {"ACCEPTED": "PhotoAccepted", "REJECTED": "PhotoRejected"}


def object_keys(body: str) -> list[str]:
    """Object keys of an S3 event notification (the s3:TestEvent has none)."""
    try:
        event = json.loads(body)
    except ValueError:
        return []
    return [
        decode_s3_event_key(r["s3"]["object"]["key"])
        for r in event.get("Records", [])
        if str(r.get("eventName", "")).startswith("ObjectCreated") and "s3" in r
    ]


@tracer.capture_method(capture_response=False)
def inspect_record(record: SQSRecord) -> None:
    for key in object_keys(record.body):
        outcome = photo_service().inspect(key)
        logger.info("photo inspected", extra={"outcome": outcome.status, "reason": outcome.reason})
        if outcome.status in _METRICS:
            metrics.add_metric(name=_METRICS[outcome.status], unit=MetricUnit.Count, value=1)


handler = sqs_worker(logger, metrics, tracer, inspect_record)
