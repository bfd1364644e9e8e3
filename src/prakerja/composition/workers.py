"""The composition root's workers: each queue or stream worker with its function's logger and
metrics (the API services and the shared pieces are in prakerja.composition). Built lazily, once
per execution environment, like everything the root wires."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from prakerja.composition import clock, funnel_store_of, keys, nik_cipher, photo_service, table
from prakerja.config import get_settings
from prakerja.runtime import lazy_client

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

    from prakerja.adapters.queue import SqsQueue
    from prakerja.domain.registry_check import NikCheckService
    from prakerja.workers import Log
    from prakerja.workers.email_events import EmailEventWorker
    from prakerja.workers.inspect_photo import InspectPhotoWorker
    from prakerja.workers.nik_check import NikCheckWorker
    from prakerja.workers.outbox_relay import OutboxRelay
    from prakerja.workers.send_email import SendEmailWorker


def _queue(setting: str) -> SqsQueue:
    from prakerja.adapters.queue import SqsQueue

    return SqsQueue(lazy_client("sqs"), get_settings().require(setting))


@cache
def nik_check_service() -> NikCheckService:
    from prakerja.adapters.breaker import DynamoBreakerStore, DynamoSlotStore
    from prakerja.adapters.nik import DynamoNikStore
    from prakerja.adapters.registry import RegistryClient
    from prakerja.domain.registry_check import NikCheckService, RegistryGate
    from prakerja.domain.resilience import BreakerConfig

    settings = get_settings()
    gate = RegistryGate(
        DynamoBreakerStore(table()),
        DynamoSlotStore(table()),
        clock(),
        BreakerConfig(
            failure_threshold=settings.breaker_failure_threshold,
            cooldown_s=settings.breaker_cooldown_s,
            probe_lease_s=max(settings.registry_timeout_s * 3, 5.0),
        ),
        settings.registry_max_rps,
    )
    registry = RegistryClient(settings.require("registry_url"), settings.registry_timeout_s, settings.registry_api_key)
    return NikCheckService(DynamoNikStore(table()), nik_cipher(), registry, gate)


@cache
def check_nik_worker(log: Log, metrics: Metrics) -> NikCheckWorker:
    from prakerja.workers.nik_check import NikCheckWorker, RetryPolicy
    from prakerja.workers.sqs import counter

    settings = get_settings()
    policy = RetryPolicy(
        backoff_base_s=settings.nik_backoff_base_s,
        backoff_cap_s=settings.nik_backoff_cap_s,
        max_deferrals=settings.nik_max_deferrals,
    )
    return NikCheckWorker(nik_check_service(), _queue("nik_queue_url"), policy, log, counter(metrics))


@cache
def send_email_worker(log: Log, metrics: Metrics) -> SendEmailWorker:
    from prakerja.adapters.code_sends import DynamoCodeSendStore
    from prakerja.adapters.email import SesMailer
    from prakerja.workers.send_email import EmailPolicy, SendEmailWorker
    from prakerja.workers.sqs import counter

    settings = get_settings()
    mailer = SesMailer(lazy_client("ses"), settings.require("sender_email"), settings.require("configuration_set"))
    policy = EmailPolicy(
        code_ttl_s=settings.code_ttl_s,
        backoff_base_s=settings.email_backoff_base_s,
        backoff_cap_s=settings.email_backoff_cap_s,
    )
    return SendEmailWorker(
        DynamoCodeSendStore(table()),
        mailer,
        _queue("email_queue_url"),
        keys().code,
        clock(),
        policy,
        log,
        counter(metrics),
    )


@cache
def inspect_photo_worker(log: Log, metrics: Metrics) -> InspectPhotoWorker:
    from prakerja.workers.inspect_photo import InspectPhotoWorker
    from prakerja.workers.sqs import counter

    return InspectPhotoWorker(photo_service(), log, counter(metrics))


@cache
def outbox_relay(log: Log, metrics: Metrics) -> OutboxRelay:
    from prakerja.adapters.funnel import FUNNEL_SHARDS, DynamoFunnelStore
    from prakerja.adapters.stream import decode_record
    from prakerja.workers.outbox_relay import OutboxRelay
    from prakerja.workers.sqs import counter

    queues = {"EMAIL": _queue("email_queue_url"), "NIK_CHECK": _queue("nik_queue_url")}
    return OutboxRelay(
        queues,
        DynamoFunnelStore(table()),
        FUNNEL_SHARDS,
        decode_record,
        log,
        counter(metrics),
        parking=_queue("stream_dlq_url"),
    )


@cache
def email_event_worker(log: Log, metrics: Metrics) -> EmailEventWorker:
    from prakerja.adapters.email_delivery import DynamoDeliveryStore
    from prakerja.domain.email_delivery import EmailDeliveryService
    from prakerja.workers.email_events import EmailEventWorker
    from prakerja.workers.sqs import counter

    return EmailEventWorker(EmailDeliveryService(DynamoDeliveryStore(table())), log, counter(metrics))


def outbox_relay_of(sqs: Any, ddb: Any, table_name: str, queue_urls: dict[str, str], log: Log) -> OutboxRelay:
    """The relay over given clients (the CLI's stream replay): queue_urls has EMAIL, NIK_CHECK
    and PARKING (the stream DLQ)."""
    from prakerja.adapters.funnel import FUNNEL_SHARDS
    from prakerja.adapters.queue import SqsQueue
    from prakerja.adapters.stream import decode_record
    from prakerja.workers.outbox_relay import OutboxRelay

    queues = {kind: SqsQueue(sqs, queue_urls[kind]) for kind in ("EMAIL", "NIK_CHECK")}
    return OutboxRelay(
        queues,
        funnel_store_of(ddb, table_name),
        FUNNEL_SHARDS,
        decode_record,
        log,
        lambda _name, _value: None,
        parking=SqsQueue(sqs, queue_urls["PARKING"]),
    )


# What prakerja.composition.reset() forgets.
BUILT = (
    nik_check_service,
    check_nik_worker,
    send_email_worker,
    inspect_photo_worker,
    outbox_relay,
    email_event_worker,
)
