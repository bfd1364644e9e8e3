"""Wiring of the batch service to its DynamoDB adapter, built lazily once per execution environment."""

from __future__ import annotations

from functools import lru_cache

from prakerja.adapters.batches import DynamoBatchStore
from prakerja.config import get_settings
from prakerja.domain.batch import BatchService
from prakerja.domain.ports import SystemClock
from prakerja.runtime import aws_client


@lru_cache(maxsize=1)
def batch_service() -> BatchService:
    settings = get_settings()
    store = DynamoBatchStore(aws_client("dynamodb"), settings.require("table_name"))
    return BatchService(store, SystemClock())
