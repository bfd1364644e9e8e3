"""SQS EmailEventsQueue (SES bounce and complaint events via SNS) -> the registration is marked
and no longer mailed. Policy: prakerja.workers.email_events."""

from prakerja.composition.workers import email_event_worker
from prakerja.observability import observability
from prakerja.workers import QueueMessage
from prakerja.workers.sqs import sqs_worker

logger, metrics, tracer = observability("handle_email_event")


@tracer.capture_method(capture_response=False)
def handle_email_event(message: QueueMessage) -> None:
    email_event_worker(logger, metrics).handle_email_event(message)


handler = sqs_worker(logger, metrics, tracer, handle_email_event)
