"""Composition-root helpers shared by the handlers.

Nothing here talks to AWS at import time: clients are created on first use and cached
for the life of the execution environment (one cold start), as are the derived keys.
"""

from __future__ import annotations

import threading
from typing import Any

from prakerja.config import Settings, get_settings
from prakerja.domain.ports import Keys
from prakerja.domain.security import derive_key

_lock = threading.Lock()
_clients: dict[str, Any] = {}
_keys: Keys | None = None


def aws_client(service: str) -> Any:
    """A cached boto3 client (AWS_ENDPOINT_URL, honoured by boto3, points it at moto locally)."""
    found = _clients.get(service)
    if found is not None:
        return found
    with _lock:
        if service not in _clients:
            import boto3
            from botocore.config import Config

            config = Config(
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=2,
                read_timeout=5,
                tcp_keepalive=True,
            )
            _clients[service] = boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]
        return _clients[service]


def keys(settings: Settings | None = None) -> Keys:
    """Subkeys derived from the application secret (one Secrets Manager call per cold start)."""
    global _keys
    if _keys is None:
        settings = settings or get_settings()
        secret = aws_client("secretsmanager").get_secret_value(SecretId=settings.require("app_secret_arn"))
        master = secret.get("SecretString") or secret["SecretBinary"]
        raw = master.encode("utf-8") if isinstance(master, str) else bytes(master)
        _keys = Keys(
            token=derive_key(raw, "token"), code=derive_key(raw, "code"), nik=derive_key(raw, "nik-fingerprint")
        )
    return _keys


def reset_for_tests() -> None:
    global _keys
    _clients.clear()
    _keys = None
