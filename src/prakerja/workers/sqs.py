"""The shape every SQS worker shares: Powertools observability + batch processing with partial
batch failures (only the failed records come back; the rest are deleted)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from prakerja.workers import Count, QueueMessage

SqsHandler = Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]


def counter(metrics: Metrics) -> Count:
    def count(name: str, value: int) -> None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    return count


def queue_message(record: SQSRecord) -> QueueMessage:
    return QueueMessage(
        message_id=record.message_id,
        body=record.body,
        receipt_handle=record.receipt_handle,
        receive_count=int(record.attributes.approximate_receive_count or 1),
    )


def sqs_worker(logger: Logger, metrics: Metrics, tracer: Tracer, handle: Callable[[QueueMessage], None]) -> SqsHandler:
    def record_handler(record: SQSRecord) -> None:
        handle(queue_message(record))

    @logger.inject_lambda_context(log_event=False)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        # Per invocation (it holds batch state). A batch whose every record must wait is a normal
        # partial-failure answer, not a function error (which would page operators).
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handler  # type: ignore[no-any-return]
