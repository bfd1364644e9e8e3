"""The AWS clients of this execution environment, created on first use and cached for its
life (one cold start). AWS_ENDPOINT_URL, honoured by boto3, points them at moto locally.

All clients come from one boto3 session: a session per client builds a new botocore loader and
re-reads the endpoint, partition and default-config data for each (~50-80 ms of CPU per extra
client on a cold start, e.g. Secrets Manager next to DynamoDB)."""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_clients: dict[str, Any] = {}
_session: Any = None


def aws_client(service: str) -> Any:
    global _session
    found = _clients.get(service)
    if found is not None:
        return found
    with _lock:  # creating clients from one session is not thread-safe: the lock serialises it
        if service not in _clients:
            import boto3
            from botocore.config import Config

            if _session is None:
                _session = boto3.session.Session()
            config = Config(
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=2,
                read_timeout=5,
                tcp_keepalive=True,
            )
            _clients[service] = _session.client(service, config=config)
        return _clients[service]


def reset() -> None:
    global _session
    _clients.clear()
    _session = None
