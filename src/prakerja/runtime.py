"""The AWS clients of this execution environment, created on first use and cached for its
life (one cold start). AWS_ENDPOINT_URL, honoured by boto3, points them at moto locally.

All clients come from one boto3 session: a session per client builds a new botocore loader and
re-reads the endpoint, partition and default-config data for each (~50-80 ms of CPU per extra
client on a cold start, e.g. Secrets Manager next to DynamoDB).

`settle()` hands what a cold start built (modules, classes, service models, clients) to the
garbage collector's permanent generation and turns collection back on (the package turns it off
while a Lambda function initialises: see prakerja/__init__.py). Those objects live as long as the
execution environment, yet every collection would scan them again: on a cold start, ~150 young
collections and a ~15-30 ms full pass that, once pydantic, botocore and the X-Ray SDK are loaded,
find almost nothing to free."""

from __future__ import annotations

import gc
import os
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
            settle()
        return _clients[service]


def settle() -> None:
    """In a Lambda execution environment, stop the collector rescanning what init has built, and
    collect from here on. Elsewhere (tests, the local stack's one long-lived process) the collector
    is left alone."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        gc.freeze()
        gc.enable()


def reset() -> None:
    global _session
    _clients.clear()
    _session = None
