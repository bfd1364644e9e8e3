"""The AWS clients of this execution environment, created on first use and cached for its
life (one cold start). AWS_ENDPOINT_URL, honoured by boto3, points them at moto locally.

Timeouts and retries are chosen against the API functions' 10 s timeout (template Globals) and
API Gateway's 29 s integration limit: a stalled call costs at most MAX_ATTEMPTS x READ_TIMEOUT_S
plus standard mode's jittered backoff (< 1 + 2 s), about 9 s, so even a route whose dependency
stalls answers 503 `service-busy` itself (prakerja.adapters.aws_errors) rather than a Lambda
timeout or the gateway's own 504. Standard mode
retries throttles, 5xx and connection errors with exponential backoff and jitter, and its
client-side retry quota stops retry storms when a dependency is down.
"""

from __future__ import annotations

import os
import threading
from typing import Any

CONNECT_TIMEOUT_S = 1.0
# AWS_READ_TIMEOUT_S (unset when deployed) exists for the local stack only: its AWS is one moto
# process answering one request at a time, far slower than AWS under a burst.
READ_TIMEOUT_S = 2.0
MAX_ATTEMPTS = 3  # in all: the first call + 2 retries (botocore: total_max_attempts)

# SES SendEmail has no idempotency token: botocore retrying one whose answer was lost (a read
# timeout) could send the email twice. The send_email worker retries throttles itself, later,
# through the job's visibility; so SES gets one attempt per call and a longer read timeout.
_PER_SERVICE: dict[str, dict[str, Any]] = {"ses": {"attempts": 1, "read_timeout": 5.0}}

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

            own = _PER_SERVICE.get(service, {})
            config = Config(
                retries={"mode": "standard", "total_max_attempts": own.get("attempts", MAX_ATTEMPTS)},
                connect_timeout=CONNECT_TIMEOUT_S,
                read_timeout=own.get("read_timeout", read_timeout_s()),
                tcp_keepalive=True,
            )
            _clients[service] = boto3.session.Session().client(service, config=config)
        return _clients[service]


def read_timeout_s() -> float:
    """READ_TIMEOUT_S, or AWS_READ_TIMEOUT_S from the environment (the local stack only)."""
    raw = os.environ.get("AWS_READ_TIMEOUT_S", "").strip()
    return float(raw) if raw else READ_TIMEOUT_S


def reset() -> None:
    _clients.clear()
