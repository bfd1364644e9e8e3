"""DynamoDB stream -> work queues (transactional outbox relay) + funnel counters.
Planning and failure handling: prakerja.workers.outbox_relay."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from prakerja.composition.workers import outbox_relay
from prakerja.observability import observability

logger, metrics, tracer = observability("outbox_relay")


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return outbox_relay(logger, metrics).relay(event.get("Records", []))
