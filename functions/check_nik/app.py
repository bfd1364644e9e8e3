"""SQS NikQueue -> population registry -> VERIFIED / REJECTED.

- Registry failures are delays: the message's visibility is pushed out with exponential
  backoff + jitter and it comes back; after the queue's maxReceiveCount it is parked in
  NikDLQ (status stays PENDING) for operators to redrive.
- While the shared circuit breaker is open (or the per-second cap is reached) the registry is
  not called at all: the message is re-queued with a delay and acknowledged, so waiting does
  not spend its attempts (bounded by NIK_MAX_DEFERRALS).
"""

import json
import math
import random
from typing import NoReturn

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from prakerja.config import get_settings
from prakerja.domain.nik_service import Deferred, Transient
from prakerja.domain.resilience import backoff_delay
from prakerja.observability import observability
from prakerja.services import nik_check_service, nik_queue
from prakerja.workers import sqs_worker

logger, metrics, tracer = observability("check_nik", traced=("botocore", "httplib"))  # + registry calls
_METRICS = {"VERIFIED": "NikVerified", "REJECTED": "NikRejected"}


class RetryLater(Exception):  # noqa: N818
    """Marks the record as failed for the batch (its visibility was already pushed out)."""


def check_record(record: SQSRecord) -> None:
    try:
        job = json.loads(record.body)
        registration_id, seq = str(job["registration_id"]), int(job["payload"]["nik_seq"])
    except (ValueError, KeyError, TypeError):
        logger.error("malformed NIK job dropped", extra={"message_id": record.message_id})
        return
    settings = get_settings()
    attempt = int(record.attributes.approximate_receive_count or 1)
    try:
        outcome = nik_check_service().check(registration_id, seq)
    except Deferred as wait:
        deferrals = int(job.get("deferrals", 0))
        if deferrals < settings.nik_max_deferrals:
            delay = min(900, math.ceil(wait.delay_s + random.uniform(0, 2)))  # noqa: S311 - jitter  # nosec B311 # backoff jitter, not a secret
            nik_queue().send(json.dumps({**job, "deferrals": deferrals + 1}), delay_s=delay)
            metrics.add_metric(name="NikCheckDeferred", unit=MetricUnit.Count, value=1)
            logger.info("registry gate closed: check deferred", extra={"delay_s": delay, "deferrals": deferrals})
            return
        _retry_later(record, attempt, wait.delay_s)
    except Transient as failure:
        metrics.add_metric(name="RegistryTransientFailure", unit=MetricUnit.Count, value=1)
        _retry_later(record, attempt, failure.retry_after_s)
    logger.info("NIK check done", extra={"outcome": outcome, "attempt": attempt})
    if outcome in _METRICS:
        metrics.add_metric(name=_METRICS[outcome], unit=MetricUnit.Count, value=1)


def _retry_later(record: SQSRecord, attempt: int, hint_s: float | None) -> NoReturn:
    settings = get_settings()
    delay = max(
        backoff_delay(attempt, base_s=settings.nik_backoff_base_s, cap_s=settings.nik_backoff_cap_s),
        math.ceil(hint_s or 0),
    )
    nik_queue().change_visibility(record.receipt_handle, delay)
    logger.warning("registry unavailable: check will be retried", extra={"attempt": attempt, "delay_s": delay})
    raise RetryLater()


handler = sqs_worker(logger, metrics, tracer, check_record)
