"""The AWS clients of this execution environment, created on first use and cached for its
life (one cold start). AWS_ENDPOINT_URL, honoured by boto3, points them at moto locally."""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_clients: dict[str, Any] = {}


def aws_client(service: str) -> Any:
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
            _clients[service] = boto3.session.Session().client(service, config=config)
        return _clients[service]


def reset() -> None:
    _clients.clear()
