"""DynamoDB stream -> work queues (transactional outbox relay) + funnel counters."""

import random
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from prakerja.adapters.dynamo_codec import from_item
from prakerja.adapters.dynamodb import FUNNEL_SHARDS, DynamoFunnelStore
from prakerja.adapters.queue import SqsQueue
from prakerja.config import get_settings
from prakerja.domain.outbox import Change, plan
from prakerja.domain.ports import TransientConflict
from prakerja.observability import observability
from prakerja.runtime import aws_client

logger, metrics, tracer = observability("outbox_relay")


def _change(record: dict[str, Any]) -> Change:
    ddb = record.get("dynamodb", {})
    return Change(
        event_id=record["eventID"],
        sequence_number=ddb["SequenceNumber"],
        event_name=record["eventName"],
        old=from_item(ddb["OldImage"]) if "OldImage" in ddb else None,
        new=from_item(ddb["NewImage"]) if "NewImage" in ddb else None,
    )


def _queues() -> dict[str, SqsQueue]:
    settings = get_settings()
    sqs = aws_client("sqs")
    return {
        "EMAIL": SqsQueue(sqs, settings.require("email_queue_url")),
        "NIK_CHECK": SqsQueue(sqs, settings.require("nik_queue_url")),
    }


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    changes = [_change(r) for r in event.get("Records", [])]
    work = plan(changes)
    first_failure = len(changes)
    queues = _queues()
    for kind, messages in work.messages.items():
        queue = queues.get(kind)
        if queue is None:
            logger.error("outbox job of unknown kind", extra={"kind": kind})
            continue
        failed = queue.send_batch([body for _, body in messages])
        if failed:
            first_failure = min(first_failure, *(messages[i][0] for i in failed))
        metrics.add_metric(
            name=f"Relayed{kind.title().replace('_', '')}", unit=MetricUnit.Count, value=len(messages) - len(failed)
        )
    increments = [(event_id, step) for index, event_id, step in work.increments if index < first_failure]
    if increments and not _count(increments):
        first_failure = 0
    if first_failure < len(changes):
        logger.warning("relay batch partly failed", extra={"failed_from": first_failure, "size": len(changes)})
        return {"batchItemFailures": [{"itemIdentifier": changes[first_failure].sequence_number}]}
    return {"batchItemFailures": []}


def _count(increments: list[tuple[str, str]]) -> bool:
    store = DynamoFunnelStore(aws_client("dynamodb"), get_settings().require("table_name"))
    for _ in range(4):
        try:
            store.count(increments, shard=random.randrange(FUNNEL_SHARDS))  # nosec B311 # picks a counter shard, not a secret
            return True
        except TransientConflict:
            continue
    return False
