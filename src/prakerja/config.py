"""Typed configuration, validated by pydantic and read once per cold start.

Every value comes from the function's environment (template.yaml sets it; the local
stack sets the same names). Domain code never reads the environment: handlers pass
what it needs from here. (A plain pydantic model over os.environ rather than
pydantic-settings: same typing and validation, ~40 ms less on every cold start.)
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    table_name: str = Field(default="", alias="TABLE_NAME")
    stage: str = Field(default="local", alias="STAGE")
    token_secret_arn: str = Field(default="", alias="TOKEN_SECRET_ARN")
    code_secret_arn: str = Field(default="", alias="CODE_SECRET_ARN")
    nik_mac_key_id: str = Field(default="", alias="NIK_MAC_KEY_ID")
    configuration_set: str = Field(default="", alias="CONFIGURATION_SET")
    token_ttl_s: int = Field(default=3600, ge=60, le=86_400, alias="TOKEN_TTL_S")
    # A verification code lives this long from when its email is handed to SES.
    code_ttl_s: int = Field(default=900, ge=10, le=86_400, alias="CODE_TTL_S")

    email_queue_url: str = Field(default="", alias="EMAIL_QUEUE_URL")
    nik_queue_url: str = Field(default="", alias="NIK_QUEUE_URL")
    stream_dlq_url: str = Field(default="", alias="STREAM_DLQ_URL")
    sender_email: str = Field(default="", alias="SENDER_EMAIL")

    photo_bucket: str = Field(default="", alias="PHOTO_BUCKET")
    nik_kms_key_id: str = Field(default="", alias="NIK_KMS_KEY_ID")

    registry_url: str = Field(default="", alias="REGISTRY_URL")
    registry_timeout_s: float = Field(default=3.0, gt=0, le=30, alias="REGISTRY_TIMEOUT_S")
    registry_max_rps: int = Field(default=50, ge=1, alias="REGISTRY_MAX_RPS")
    registry_api_key: str | None = Field(default=None, alias="REGISTRY_API_KEY")
    breaker_cooldown_s: float = Field(default=30.0, gt=0, alias="BREAKER_COOLDOWN_S")
    breaker_failure_threshold: int = Field(default=5, ge=1, alias="BREAKER_FAILURE_THRESHOLD")
    nik_backoff_base_s: int = Field(default=2, ge=1, alias="NIK_BACKOFF_BASE_S")
    nik_backoff_cap_s: int = Field(default=300, ge=1, le=43_200, alias="NIK_BACKOFF_CAP_S")
    nik_max_deferrals: int = Field(default=60, ge=0, alias="NIK_MAX_DEFERRALS")
    # Drain rates the status route estimates with (template: SesMaxSendRate, EmailSenderConcurrency).
    email_send_rate_per_s: float = Field(default=14.0, gt=0, alias="EMAIL_SEND_RATE_PER_S")
    email_sender_concurrency: int = Field(default=10, ge=1, alias="EMAIL_SENDER_CONCURRENCY")
    # SES throttling: the email job's visibility is pushed out with backoff + full jitter.
    email_backoff_base_s: int = Field(default=1, ge=1, alias="EMAIL_BACKOFF_BASE_S")
    email_backoff_cap_s: int = Field(default=60, ge=1, le=43_200, alias="EMAIL_BACKOFF_CAP_S")

    # Cost of the password KDF (scrypt N). 2**15 with r=8 uses 32 MiB and ~60-100 ms.
    scrypt_n: int = Field(default=2**15, ge=2**10, alias="PASSWORD_SCRYPT_N")

    def require(self, name: str) -> str:
        """A setting this function cannot run without; fails loudly at cold start."""
        value = getattr(self, name)
        if not value:
            raise RuntimeError(f"missing required configuration: {name.upper()}")
        return str(value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.model_validate(dict(os.environ))
