"""Wiring of domain services to their adapters, built lazily once per execution environment."""

from __future__ import annotations

from functools import lru_cache

from prakerja.adapters.dynamodb import DynamoRegistrationStore
from prakerja.config import get_settings
from prakerja.domain.ports import SystemClock
from prakerja.domain.registration import RegistrationService
from prakerja.runtime import aws_client, keys


@lru_cache(maxsize=1)
def registration_service() -> RegistrationService:
    settings = get_settings()
    store = DynamoRegistrationStore(aws_client("dynamodb"), settings.require("table_name"))
    return RegistrationService(store, keys(settings), SystemClock(), scrypt_n=settings.scrypt_n,
                               token_ttl_s=settings.token_ttl_s)
