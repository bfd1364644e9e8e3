"""SQS PhotoQueue (S3 ObjectCreated events) -> inspect the uploaded bytes -> ACCEPTED / REJECTED."""

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from prakerja.domain.photo import decode_s3_event_key
from prakerja.observability import observability
from prakerja.services import photo_service

logger, metrics, tracer = observability("inspect_photo")
_METRICS = {"ACCEPTED": "PhotoAccepted", "REJECTED": "PhotoRejected"}


def object_keys(body: str) -> list[str]:
    """Object keys of an S3 event notification (the s3:TestEvent has none)."""
    try:
        event = json.loads(body)
    except ValueError:
        return []
    return [decode_s3_event_key(r["s3"]["object"]["key"]) for r in event.get("Records", [])
            if str(r.get("eventName", "")).startswith("ObjectCreated") and "s3" in r]


@tracer.capture_method(capture_response=False)
def inspect_record(record: SQSRecord) -> None:
    for key in object_keys(record.body):
        outcome = photo_service().inspect(key)
        logger.info("photo inspected", extra={"outcome": outcome.status, "reason": outcome.reason})
        if outcome.status in _METRICS:
            metrics.add_metric(name=_METRICS[outcome.status], unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # Per invocation (it holds batch state). A batch whose every record must wait is a normal
    # partial-failure answer, not a function error (which would page operators).
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=inspect_record, processor=processor,
                                    context=context)
