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
find almost nothing to free.

Timeouts and retries are chosen against the API functions' 10 s timeout (template Globals) and
API Gateway's 29 s integration limit: a stalled call costs at most MAX_ATTEMPTS x READ_TIMEOUT_S
plus standard mode's jittered backoff (< 1 + 2 s), about 9 s, so even a route whose dependency
stalls answers 503 `service-busy` itself (prakerja.adapters.aws_errors) rather than a Lambda
timeout or the gateway's own 504. Standard mode
retries throttles, 5xx and connection errors with exponential backoff and jitter, and its
client-side retry quota stops retry storms when a dependency is down.
"""

from __future__ import annotations

import gc
import os
import threading
from typing import Any

CONNECT_TIMEOUT_S = 1.0
# AWS_READ_TIMEOUT_S (unset when deployed) exists for the local stack only: its AWS is one moto
# process answering one request at a time, far slower than AWS under a burst.
READ_TIMEOUT_S = 2.0
DEFAULT_POOL_CONNECTIONS = 10
MAX_ATTEMPTS = 3  # in all: the first call + 2 retries (botocore: total_max_attempts)

# SES SendEmail has no idempotency token: botocore retrying one whose answer was lost (a read
# timeout) could send the email twice. The send_email worker retries throttles itself, later,
# through the job's visibility; so SES gets one attempt per call and a longer read timeout.
_PER_SERVICE: dict[str, dict[str, Any]] = {"ses": {"attempts": 1, "read_timeout": 5.0}}

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
            own = _PER_SERVICE.get(service, {})
            config = Config(
                retries={"mode": "standard", "total_max_attempts": own.get("attempts", MAX_ATTEMPTS)},
                connect_timeout=CONNECT_TIMEOUT_S,
                read_timeout=own.get("read_timeout", read_timeout_s()),
                tcp_keepalive=True,
                max_pool_connections=max_pool_connections(),
            )
            _clients[service] = _session.client(service, config=config)
            settle()
        return _clients[service]


class LazyClient:
    """`aws_client(service)`, created on first use: an adapter is wired with this and a request
    that never reaches it (a 401, 404 or 429, or a stale job) builds no client. Botocore loads a
    service's model when its client is made: ~5 ms for KMS, ~20 ms for S3 on a cold start."""

    __slots__ = ("_service",)

    def __init__(self, service: str) -> None:
        self._service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(aws_client(self._service), name)


def lazy_client(service: str) -> Any:
    """A client for `service` that is made on first use (typed as the client it stands in for)."""
    return LazyClient(service)


def settle() -> None:
    """In a Lambda execution environment, stop the collector rescanning what init has built, and
    collect from here on. Elsewhere (tests, the local stack's one long-lived process) the collector
    is left alone."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        gc.freeze()
        gc.enable()


def read_timeout_s() -> float:
    """READ_TIMEOUT_S, or AWS_READ_TIMEOUT_S from the environment (the local stack only)."""
    raw = os.environ.get("AWS_READ_TIMEOUT_S", "").strip()
    return float(raw) if raw else READ_TIMEOUT_S


def max_pool_connections() -> int:
    """Connections each client keeps open: botocore's 10 (a Lambda environment serves one request
    at a time), or AWS_MAX_POOL_CONNECTIONS (the local stack only: every function and poller of
    the system shares one process and its clients; past the pool, each call would open and
    discard a connection of its own)."""
    raw = os.environ.get("AWS_MAX_POOL_CONNECTIONS", "").strip()
    return max(1, int(raw)) if raw.isdigit() else DEFAULT_POOL_CONNECTIONS


def reset() -> None:
    global _session
    _clients.clear()
    _session = None
