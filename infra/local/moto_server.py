"""moto in server mode on loopback, one request at a time.

moto's conditional writes (ConditionExpression, TransactWriteItems) are not atomic across
threads, so every request runs under one global lock. SQS long polls would hold that lock
for their whole wait, so ReceiveMessage with a wait is emulated: short polls (WaitTimeSeconds
0) repeated outside the lock until a message arrives or the wait is over.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from infra.local.names import ACCOUNT_ID, HOST

log = logging.getLogger("infra.local.moto")
_LONG_POLL_STEP_S = 0.05
_SQS_RECEIVE_TARGET = "AmazonSQS.ReceiveMessage"
StartResponse = Callable[..., Any]


class _Buffered:
    """The captured result of one WSGI call."""

    def __init__(self) -> None:
        self.status = "500 INTERNAL SERVER ERROR"
        self.headers: list[tuple[str, str]] = []
        self.body = b""

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status, self.headers = status, list(headers)
        return lambda data: None


class SerialisedApp:
    """WSGI wrapper: one request at a time; SQS long polls emulated outside the lock."""

    def __init__(
        self,
        app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
        lock: threading.Lock,
        queue_wait_defaults: Mapping[str, int] | None = None,
    ) -> None:
        self._app = app
        self._lock = lock
        self._queue_waits = queue_wait_defaults if queue_wait_defaults is not None else {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") == _SQS_RECEIVE_TARGET:
            result = self._receive(environ)
        else:
            result = self._call(environ)
        start_response(result.status, result.headers)
        return [result.body]

    def _call(self, environ: dict[str, Any]) -> _Buffered:
        result = _Buffered()
        with self._lock:
            iterable = self._app(environ, result.start_response)
            try:
                result.body = b"".join(iterable)
            finally:
                close = getattr(iterable, "close", None)
                if close is not None:
                    close()
        return result

    def _receive(self, environ: dict[str, Any]) -> _Buffered:
        raw = _read_body(environ)
        try:
            request = json.loads(raw or b"{}")
        except ValueError:
            request = None
        if not isinstance(request, dict):
            return self._call(_with_body(environ, raw))
        wait = request.get("WaitTimeSeconds")
        if wait is None:
            wait = self._queue_waits.get(str(request.get("QueueUrl", "")).rsplit("/", 1)[-1], 0)
        short_poll = json.dumps({**request, "WaitTimeSeconds": 0}).encode("utf-8")
        deadline = time.monotonic() + _as_seconds(wait)
        while True:
            result = self._call(_with_body(environ, short_poll))
            if not result.status.startswith("200") or _has_messages(result.body) or time.monotonic() >= deadline:
                return result
            time.sleep(_LONG_POLL_STEP_S)


def _as_seconds(value: Any) -> float:
    try:
        return max(0.0, min(20.0, float(value)))
    except (TypeError, ValueError):
        return 0.0


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return bytes(environ["wsgi.input"].read(length)) if length > 0 else b""


def _with_body(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    copy = dict(environ)
    copy["wsgi.input"] = io.BytesIO(body)
    copy["CONTENT_LENGTH"] = str(len(body))
    return copy


def _has_messages(body: bytes) -> bool:
    try:
        return bool(json.loads(body or b"{}").get("Messages"))
    except (ValueError, AttributeError):
        return True  # not what we expected: hand it back as it is


class MotoServer:
    """moto's WSGI app on a threaded werkzeug server, behind `SerialisedApp`."""

    def __init__(self, port: int, region: str) -> None:
        self.lock = threading.Lock()
        self.region = region
        self.queue_wait_defaults: dict[str, int] = {}  # queue name -> ReceiveMessageWaitTimeSeconds
        self._requested_port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.faults: Any = None  # infra.local.faults.FaultInjector, in front of moto
        self.iam: Any = None  # infra.local.iam.IamEnforcer, in front of the faults (None: IAM off)

    @property
    def port(self) -> int:
        return int(self._server.server_port) if self._server else self._requested_port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        from infra.local import moto_fixes, ses_rate, transaction_tokens

        moto_fixes.apply()
        transaction_tokens.apply()
        ses_rate.apply(ses_rate.rate_from_env())
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        from infra.local import faults, iam

        app: Any = SerialisedApp(DomainDispatcherApplication(create_backend_app), self.lock, self.queue_wait_defaults)
        app = self.faults = faults.FaultInjector.from_env(app, os.environ)
        if iam.enforcement_on(os.environ):
            app = self.iam = iam.IamEnforcer(app, self.region, self.lock)
        self._server = make_server(HOST, self._requested_port, app, threaded=True, request_handler=MotoRequestHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    # -- in-process access to moto's state (under the lock unless said otherwise) ----------------
    def sent_emails_since(self, start: int) -> list[Any]:
        """The messages moto's SES (v1 and v2) has accepted in this region from index `start` on.

        Without the lock: SES only ever appends to this list, and a slice of a list is one atomic
        step under the GIL, so a mailbox read never waits behind the AWS calls of a crowd.
        """
        from moto.ses.models import ses_backends

        return ses_backends[ACCOUNT_ID][self.region].sent_messages[start:]

    def forget_shard_iterator(self, iterator: str) -> None:
        """Drop a used DynamoDB stream iterator (moto keeps every one it issued for ever)."""
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        with self.lock:
            dynamodbstreams_backends[ACCOUNT_ID][self.region].shard_iterators.pop(iterator, None)
