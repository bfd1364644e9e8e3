"""The composition root: every service, worker and adapter is wired here, and only here.

Handlers (functions/<op>/app.py) and the operations CLI (infra/cli.py) ask this module for
what they need. Everything is built lazily, once per execution environment (one cold start):
nothing talks to AWS at import time, and a function builds only what its own route uses.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from prakerja.config import get_settings
from prakerja.runtime import aws_client, lazy_client

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

    from prakerja.adapters.funnel import DynamoFunnelStore
    from prakerja.adapters.kms import KmsNikCipher
    from prakerja.adapters.queue import SqsQueue
    from prakerja.adapters.table import Table
    from prakerja.domain.batch import BatchService
    from prakerja.domain.nik_service import NikCheckService, NikVerificationService
    from prakerja.domain.password_reset import PasswordResetService
    from prakerja.domain.personal_data import PersonalDataService
    from prakerja.domain.photo_service import PhotoService
    from prakerja.domain.ports import Clock, Keys
    from prakerja.domain.registration import RegistrationService
    from prakerja.domain.security import Fingerprinter, SigningKey
    from prakerja.domain.sessions import SessionService
    from prakerja.domain.status import StatusService
    from prakerja.workers import Log
    from prakerja.workers.email_events import EmailEventWorker
    from prakerja.workers.inspect_photo import InspectPhotoWorker
    from prakerja.workers.nik_check import NikCheckWorker
    from prakerja.workers.outbox_relay import OutboxRelay
    from prakerja.workers.send_email import SendEmailWorker


# -- shared pieces ------------------------------------------------------------------------------
@cache
def keys() -> Keys:
    """The keys of this function, each loaded on first use (a route that never signs a token
    never reads TOKEN_SECRET_ARN): token and code rings from their own secrets (current +
    previous, see adapters/keyring.py), NIK fingerprints as KMS GenerateMac on NIK_MAC_KEY_ID."""
    from prakerja.domain.ports import Keys
    from prakerja.domain.security import KeyRing

    return Keys(
        token=KeyRing(_key_source("token_secret_arn")), code=KeyRing(_key_source("code_secret_arn")), nik=_nik_mac()
    )


def _key_source(setting: str) -> Callable[[], tuple[SigningKey, ...]]:
    from prakerja.adapters.keyring import SecretKeySource

    def load() -> tuple[SigningKey, ...]:
        return SecretKeySource(aws_client("secretsmanager"), get_settings().require(setting))()

    return load


class _LazyFingerprinter:
    def fingerprint(self, value: str) -> str:
        from prakerja.adapters.kms import KmsFingerprinter

        return KmsFingerprinter(aws_client("kms"), get_settings().require("nik_mac_key_id")).fingerprint(value)


def _nik_mac() -> Fingerprinter:
    return _LazyFingerprinter()


def table_of(client: Any, table_name: str) -> Table:
    from prakerja.adapters.table import Table

    return Table(client, table_name)


@cache
def table() -> Table:
    return table_of(aws_client("dynamodb"), get_settings().require("table_name"))


def _queue(setting: str) -> SqsQueue:
    from prakerja.adapters.queue import SqsQueue

    return SqsQueue(lazy_client("sqs"), get_settings().require(setting))


def _clock() -> Clock:
    from prakerja.domain.ports import SystemClock

    return SystemClock()


# -- API services -------------------------------------------------------------------------------
@cache
def registration_service() -> RegistrationService:
    from prakerja.adapters.registrations import DynamoRegistrationStore
    from prakerja.domain.registration import RegistrationService

    settings = get_settings()
    return RegistrationService(
        DynamoRegistrationStore(table()),
        keys(),
        _clock(),
        scrypt_n=settings.scrypt_n,
        token_ttl_s=settings.token_ttl_s,
        code_ttl_s=settings.code_ttl_s,
    )


@cache
def password_reset_service() -> PasswordResetService:
    from prakerja.adapters.resets import DynamoResetStore
    from prakerja.domain.password_reset import PasswordResetService

    settings = get_settings()
    return PasswordResetService(
        DynamoResetStore(table()), keys(), _clock(), scrypt_n=settings.scrypt_n, token_ttl_s=settings.token_ttl_s
    )


@cache
def session_service() -> SessionService:
    from prakerja.adapters.sessions import DynamoSessionStore
    from prakerja.domain.sessions import SessionService

    return SessionService(DynamoSessionStore(table()), _clock())


@cache
def personal_data_service() -> PersonalDataService:
    from prakerja.adapters.registrations import DynamoRegistrationStore
    from prakerja.adapters.storage import PhotoStorage
    from prakerja.domain.personal_data import PersonalDataService

    storage = PhotoStorage(lazy_client("s3"), get_settings().require("photo_bucket"))
    return PersonalDataService(DynamoRegistrationStore(table()), storage)


@cache
def nik_cipher() -> KmsNikCipher:
    from prakerja.adapters.kms import KmsNikCipher

    return KmsNikCipher(lazy_client("kms"), get_settings().require("nik_kms_key_id"))


@cache
def nik_verification_service() -> NikVerificationService:
    from prakerja.adapters.nik import DynamoNikStore
    from prakerja.domain.nik_service import NikVerificationService

    return NikVerificationService(DynamoNikStore(table()), nik_cipher(), keys(), _clock())


@cache
def photo_service() -> PhotoService:
    from prakerja.adapters.photos import DynamoPhotoStore
    from prakerja.adapters.storage import PhotoStorage
    from prakerja.domain.photo_service import PhotoService

    storage = PhotoStorage(lazy_client("s3"), get_settings().require("photo_bucket"))
    return PhotoService(DynamoPhotoStore(table()), storage)


# GET /batches answers from a copy this old at most (per execution environment); docs/API.md.
BATCH_LIST_TTL_S = 2.0


def batch_service_of(client: Any, table_name: str, *, list_ttl_s: float = 0.0) -> BatchService:
    """The batch service over a given client and table (the CLI's target: exact, or this function's)."""
    from prakerja.adapters.batches import DynamoBatchStore
    from prakerja.domain.batch import BatchService

    return BatchService(DynamoBatchStore(table_of(client, table_name)), _clock(), list_ttl_s=list_ttl_s)


@cache
def batch_service() -> BatchService:
    return batch_service_of(aws_client("dynamodb"), get_settings().require("table_name"), list_ttl_s=BATCH_LIST_TTL_S)


@cache
def status_service() -> StatusService:
    from prakerja.adapters.breaker import DynamoBreakerStore
    from prakerja.adapters.status import AwsStatusSource
    from prakerja.domain.resilience import DEFAULT_BREAKER
    from prakerja.domain.status import DrainRates, StatusService

    settings = get_settings()
    source = AwsStatusSource(
        lazy_client("sqs"),
        settings.require("email_queue_url"),
        settings.require("nik_queue_url"),
        DynamoBreakerStore(table()),
    )
    rates = DrainRates.configured(
        settings.email_send_rate_per_s, settings.email_sender_concurrency, settings.registry_max_rps
    )
    return StatusService(source, _clock(), rates, breaker_window_s=DEFAULT_BREAKER.window_s)


def funnel_store_of(client: Any, table_name: str) -> DynamoFunnelStore:
    from prakerja.adapters.funnel import DynamoFunnelStore

    return DynamoFunnelStore(table_of(client, table_name))


# -- workers (each with its function's logger and metrics) -----------------------------------------
@cache
def nik_check_service() -> NikCheckService:
    from prakerja.adapters.breaker import DynamoBreakerStore, DynamoSlotStore
    from prakerja.adapters.nik import DynamoNikStore
    from prakerja.adapters.registry import RegistryClient
    from prakerja.domain.nik_service import NikCheckService, RegistryGate
    from prakerja.domain.resilience import BreakerConfig

    settings = get_settings()
    gate = RegistryGate(
        DynamoBreakerStore(table()),
        DynamoSlotStore(table()),
        _clock(),
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
    from prakerja.adapters.email import SesMailer
    from prakerja.adapters.registrations import DynamoRegistrationStore
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
        DynamoRegistrationStore(table()),
        mailer,
        _queue("email_queue_url"),
        keys().code,
        _clock(),
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


def reset() -> None:
    """Forget everything built (tests switch environments between cases)."""
    from prakerja import runtime

    get_settings.cache_clear()
    runtime.reset()
    for built in (
        keys,
        table,
        registration_service,
        password_reset_service,
        session_service,
        personal_data_service,
        nik_cipher,
        nik_verification_service,
        photo_service,
        batch_service,
        status_service,
        nik_check_service,
        check_nik_worker,
        send_email_worker,
        inspect_photo_worker,
        outbox_relay,
        email_event_worker,
    ):
        built.cache_clear()
