"""SQS PhotoQueue (S3 ObjectCreated events) -> inspect the uploaded bytes -> ACCEPTED / REJECTED.
The inspection: prakerja.workers.inspect_photo."""

from prakerja.composition.workers import inspect_photo_worker
from prakerja.observability import observability
from prakerja.workers import QueueMessage
from prakerja.workers.sqs import sqs_worker

logger, metrics, tracer = observability("inspect_photo")


@tracer.capture_method(capture_response=False)
def inspect_photo(message: QueueMessage) -> None:
    inspect_photo_worker(logger, metrics).inspect_photo(message)


handler = sqs_worker(logger, metrics, tracer, inspect_photo)
