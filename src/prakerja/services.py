"""Wiring of domain services to their adapters, built lazily once per execution environment."""

from __future__ import annotations

from functools import lru_cache

from prakerja.adapters.dynamodb import (
    DynamoBreakerStore,
    DynamoNikStore,
    DynamoPhotoStore,
    DynamoRegistrationStore,
    DynamoSlotStore,
)
from prakerja.adapters.kms import KmsNikCipher
from prakerja.adapters.queue import SqsQueue
from prakerja.adapters.registry import RegistryClient
from prakerja.adapters.storage import PhotoStorage
from prakerja.config import get_settings
from prakerja.domain.nik_service import NikCheckService, NikSubmissionService, RegistryGate
from prakerja.domain.photo_service import PhotoService
from prakerja.domain.ports import SystemClock
from prakerja.domain.registration import RegistrationService
from prakerja.domain.resilience import BreakerConfig
from prakerja.runtime import aws_client, keys


@lru_cache(maxsize=1)
def registration_service() -> RegistrationService:
    settings = get_settings()
    store = DynamoRegistrationStore(aws_client("dynamodb"), settings.require("table_name"))
    return RegistrationService(
        store, keys(settings), SystemClock(), scrypt_n=settings.scrypt_n, token_ttl_s=settings.token_ttl_s
    )


@lru_cache(maxsize=1)
def nik_store() -> DynamoNikStore:
    return DynamoNikStore(aws_client("dynamodb"), get_settings().require("table_name"))


@lru_cache(maxsize=1)
def nik_cipher() -> KmsNikCipher:
    return KmsNikCipher(aws_client("kms"), get_settings().require("nik_kms_key_id"))


@lru_cache(maxsize=1)
def nik_submission_service() -> NikSubmissionService:
    return NikSubmissionService(nik_store(), nik_cipher(), keys(), SystemClock())


@lru_cache(maxsize=1)
def photo_service() -> PhotoService:
    settings = get_settings()
    store = DynamoPhotoStore(aws_client("dynamodb"), settings.require("table_name"))
    return PhotoService(store, PhotoStorage(aws_client("s3"), settings.require("photo_bucket")))


@lru_cache(maxsize=1)
def nik_check_service() -> NikCheckService:
    settings = get_settings()
    ddb, table = aws_client("dynamodb"), settings.require("table_name")
    gate = RegistryGate(
        DynamoBreakerStore(ddb, table),
        DynamoSlotStore(ddb, table),
        SystemClock(),
        BreakerConfig(
            failure_threshold=settings.breaker_failure_threshold,
            cooldown_s=settings.breaker_cooldown_s,
            probe_lease_s=max(settings.registry_timeout_s * 3, 5.0),
        ),
        settings.registry_max_rps,
    )
    registry = RegistryClient(settings.require("registry_url"), settings.registry_timeout_s, settings.registry_api_key)
    return NikCheckService(nik_store(), nik_cipher(), registry, gate)


@lru_cache(maxsize=1)
def nik_queue() -> SqsQueue:
    return SqsQueue(aws_client("sqs"), get_settings().require("nik_queue_url"))
