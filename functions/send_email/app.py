"""SQS EmailQueue -> SES. Concurrency is capped (template) to the account's SES send rate.
What is sent, and when a job is stale: prakerja.workers.send_email."""

from prakerja.composition.workers import send_email_worker
from prakerja.observability import observability
from prakerja.workers import QueueMessage
from prakerja.workers.sqs import sqs_worker

logger, metrics, tracer = observability("send_email")


@tracer.capture_method(capture_response=False)
def send_email(message: QueueMessage) -> None:
    send_email_worker(logger, metrics).send_email(message)


handler = sqs_worker(logger, metrics, tracer, send_email)
