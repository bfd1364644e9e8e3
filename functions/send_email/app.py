"""SQS EmailQueue -> SES. Concurrency is capped (template) to the account's SES send rate."""

import json
from functools import lru_cache

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from prakerja.adapters.dynamodb import DynamoRegistrationStore
from prakerja.adapters.email import PermanentEmailFailure, SesMailer
from prakerja.config import get_settings
from prakerja.domain.mail import render
from prakerja.observability import observability
from prakerja.runtime import aws_client, keys
from prakerja.workers import sqs_worker

logger, metrics, tracer = observability("send_email")


@lru_cache(maxsize=1)
def _deps() -> tuple[DynamoRegistrationStore, SesMailer]:
    settings = get_settings()
    return (
        DynamoRegistrationStore(aws_client("dynamodb"), settings.require("table_name")),
        SesMailer(aws_client("ses"), settings.require("sender_email")),
    )


@tracer.capture_method(capture_response=False)
def send_one(record: SQSRecord) -> None:
    try:
        job = json.loads(record.body)
        registration_id, payload = str(job["registration_id"]), dict(job.get("payload") or {})
    except (ValueError, KeyError, TypeError):
        logger.error("malformed email job dropped", extra={"message_id": record.message_id})
        return
    store, mailer = _deps()
    reg = store.get(registration_id)
    email = render(reg, str(payload.get("template")), payload, keys().code) if reg else None
    if email is None:
        logger.info("email job skipped (stale)", extra={"template": payload.get("template")})
        return
    try:
        mailer.send(email)
    except PermanentEmailFailure:
        logger.warning("email permanently rejected", extra={"template": payload.get("template")})
        metrics.add_metric(name="EmailRejected", unit=MetricUnit.Count, value=1)
        return
    metrics.add_metric(name="EmailSent", unit=MetricUnit.Count, value=1)


handler = sqs_worker(logger, metrics, tracer, send_one)
