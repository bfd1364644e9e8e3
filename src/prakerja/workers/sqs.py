"""The shape every SQS worker shares: Powertools observability + batch processing with partial
batch failures (only the failed records come back; the rest are deleted).

The partial-batch loop is these few lines rather than Powertools' batch utility: importing
`aws_lambda_powertools.utilities.batch` loads every event data class (and, with pydantic
present, every parser model) on each cold start, for the four fields a worker reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from prakerja.workers import Count, QueueMessage

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics, Tracer
    from aws_lambda_powertools.utilities.typing import LambdaContext


class ItemFailure(TypedDict):
    itemIdentifier: str


class PartialItemFailureResponse(TypedDict):
    batchItemFailures: list[ItemFailure]


SqsHandler = Callable[[dict[str, Any], "LambdaContext"], PartialItemFailureResponse]


def counter(metrics: Metrics) -> Count:
    from aws_lambda_powertools.metrics import MetricUnit

    def count(name: str, value: int) -> None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    return count


def queue_message(record: Mapping[str, Any]) -> QueueMessage:
    """One record of an SQS event, as a worker sees it."""
    attributes = record.get("attributes") or {}
    return QueueMessage(
        message_id=str(record["messageId"]),
        body=str(record.get("body") or ""),
        receipt_handle=str(record.get("receiptHandle") or ""),
        receive_count=int(attributes.get("ApproximateReceiveCount") or 1),
    )


def process_batch(
    event: Mapping[str, Any], handle: Callable[[QueueMessage], None], logger: Logger
) -> PartialItemFailureResponse:
    """Each record through `handle`; a record whose handling raises is reported as failed (it comes
    back after its visibility timeout), the others are deleted. A batch whose every record must
    wait is a normal partial-failure answer, not a function error (which would page operators)."""
    failures: list[ItemFailure] = []
    for record in event.get("Records") or []:
        try:
            handle(queue_message(record))
        except Exception as exc:
            # The type only: an exception's message may quote personal data.
            logger.debug("record failed: it will be retried", extra={"error_type": type(exc).__name__})
            failures.append({"itemIdentifier": str(record.get("messageId", ""))})
    return {"batchItemFailures": failures}


def sqs_worker(logger: Logger, metrics: Metrics, tracer: Tracer, handle: Callable[[QueueMessage], None]) -> SqsHandler:
    @logger.inject_lambda_context(log_event=False)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return process_batch(event, handle, logger)

    return handler  # type: ignore[no-any-return]
