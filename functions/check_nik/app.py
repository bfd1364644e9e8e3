"""SQS NikQueue -> population registry -> VERIFIED / REJECTED.
Retry and deferral policy: prakerja.workers.nik_check."""

from prakerja.composition.workers import check_nik_worker
from prakerja.observability import observability
from prakerja.workers import QueueMessage
from prakerja.workers.sqs import sqs_worker

logger, metrics, tracer = observability("check_nik", traced=("botocore", "httplib"))  # + registry calls


def check_nik(message: QueueMessage) -> None:
    check_nik_worker(logger, metrics).check_nik(message)


handler = sqs_worker(logger, metrics, tracer, check_nik)
