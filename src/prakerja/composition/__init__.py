"""The composition root: every service, worker and adapter is wired here, and only here.

Handlers (functions/<op>/app.py) and the operations CLI (infra/cli.py) ask this package for what
they need: the API services and the pieces they share in this module, the queue and stream
workers in prakerja.composition.workers. Everything is built lazily, once per execution
environment (one cold start): nothing talks to AWS at import time, and a function builds only
what its own route uses.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from prakerja.config import get_settings
from prakerja.runtime import aws_client, lazy_client

if TYPE_CHECKING:
    from prakerja.adapters.funnel import DynamoFunnelStore
    from prakerja.adapters.kms import KmsNikCipher
    from prakerja.adapters.table import Table
    from prakerja.domain.batch import BatchService
    from prakerja.domain.nik_service import NikVerificationService
    from prakerja.domain.password_reset import PasswordResetService
    from prakerja.domain.personal_data import PersonalDataService
    from prakerja.domain.photo_service import PhotoService
    from prakerja.domain.ports import Clock, Keys
    from prakerja.domain.registration import RegistrationService
    from prakerja.domain.security import Fingerprinter, SigningKey
    from prakerja.domain.sessions import SessionService
    from prakerja.domain.status import StatusService


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


def clock() -> Clock:
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
        clock(),
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
        DynamoResetStore(table()), keys(), clock(), scrypt_n=settings.scrypt_n, token_ttl_s=settings.token_ttl_s
    )


@cache
def session_service() -> SessionService:
    from prakerja.adapters.sessions import DynamoSessionStore
    from prakerja.domain.sessions import SessionService

    return SessionService(DynamoSessionStore(table()), clock())


@cache
def personal_data_service() -> PersonalDataService:
    from prakerja.adapters.accounts import DynamoAccountStore
    from prakerja.adapters.storage import PhotoStorage
    from prakerja.domain.personal_data import PersonalDataService

    storage = PhotoStorage(lazy_client("s3"), get_settings().require("photo_bucket"))
    return PersonalDataService(DynamoAccountStore(table()), storage)


@cache
def nik_cipher() -> KmsNikCipher:
    from prakerja.adapters.kms import KmsNikCipher

    return KmsNikCipher(lazy_client("kms"), get_settings().require("nik_kms_key_id"))


@cache
def nik_verification_service() -> NikVerificationService:
    from prakerja.adapters.nik import DynamoNikStore
    from prakerja.domain.nik_service import NikVerificationService

    return NikVerificationService(DynamoNikStore(table()), nik_cipher(), keys(), clock())


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

    return BatchService(DynamoBatchStore(table_of(client, table_name)), clock(), list_ttl_s=list_ttl_s)


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
    return StatusService(source, clock(), rates, breaker_window_s=DEFAULT_BREAKER.window_s)


def funnel_store_of(client: Any, table_name: str) -> DynamoFunnelStore:
    from prakerja.adapters.funnel import DynamoFunnelStore

    return DynamoFunnelStore(table_of(client, table_name))


def reset() -> None:
    """Forget everything built (tests switch environments between cases)."""
    from prakerja import runtime
    from prakerja.composition import workers

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
        *workers.BUILT,
    ):
        built.cache_clear()
