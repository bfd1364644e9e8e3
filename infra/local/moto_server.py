"""moto in server mode on loopback, one request at a time.

moto's conditional writes (ConditionExpression, TransactWriteItems) are not atomic across
threads, so every request runs under one global lock. SQS long polls would hold that lock
for their whole wait, so ReceiveMessage with a wait is emulated: short polls (WaitTimeSeconds
0) repeated outside the lock until a message arrives or the wait is over. Between two polls the
wait ends as soon as any SQS write (a send, a visibility change) has gone through, and at most
after _LONG_POLL_STEP_S (for messages whose delay or visibility timeout ends), so a long poll
answers a new message at once without polling moto in a tight loop.

Housekeeping, so that the process stays flat under a crowd: each stream's records are trimmed
once every registered consumer (the stream pollers) has read past them, keeping the last
PRAKERJA_STREAM_RETAIN of those (default 1000) for anyone else reading the stream, and any record
older than 24 hours; a background sweep every PRAKERJA_TTL_SWEEP_S seconds (default 30, 0 = off)
deletes the items whose TTL has expired, as DynamoDB's TTL does (infra/local/moto_fixes.py),
and hands the heap's free pages back to the system (infra/local/memory.py).
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from infra.local import memory
from infra.local.names import ACCOUNT_ID, HOST

log = logging.getLogger("infra.local.moto")
_LONG_POLL_STEP_S = 0.2
_SQS_TARGET_PREFIX = "AmazonSQS."
_SQS_RECEIVE_TARGET = _SQS_TARGET_PREFIX + "ReceiveMessage"
DEFAULT_STREAM_RETAIN = 1000
DEFAULT_TTL_SWEEP_S = 30.0
_TTL_SCAN_PER_LOCK = 500  # partition keys looked at (and their expired items deleted) per lock hold
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
        self._sqs_writes = 0  # SQS calls other than ReceiveMessage so far: a long poll wakes on a change
        self._sqs_written = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET") or ""
        if target == _SQS_RECEIVE_TARGET:
            result = self._receive(environ)
        else:
            result = self._call(environ)
            if target.startswith(_SQS_TARGET_PREFIX):
                with self._sqs_written:
                    self._sqs_writes += 1
                    self._sqs_written.notify_all()
        start_response(result.status, result.headers)
        return [result.body]

    def _written_since(self, writes: int) -> bool:
        return self._sqs_writes != writes

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
            writes = self._sqs_writes
            result = self._call(_with_body(environ, short_poll))
            left = deadline - time.monotonic()
            if not result.status.startswith("200") or _has_messages(result.body) or left <= 0:
                return result
            with self._sqs_written:
                self._sqs_written.wait_for(partial(self._written_since, writes), timeout=min(left, _LONG_POLL_STEP_S))


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
        self.stream_retain = _non_negative(os.environ, "PRAKERJA_STREAM_RETAIN", DEFAULT_STREAM_RETAIN)
        self.ttl_sweep_s = float(_non_negative(os.environ, "PRAKERJA_TTL_SWEEP_S", DEFAULT_TTL_SWEEP_S))
        self._read_positions: dict[str, dict[str, int | None]] = {}  # stream ARN -> consumer -> read through
        self._stopping = threading.Event()
        self._sweeper: threading.Thread | None = None

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
        if self.ttl_sweep_s > 0:
            self._sweeper = threading.Thread(target=self._sweep_forever, name="moto-ttl", daemon=True)
            self._sweeper.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._sweeper is not None:
            self._sweeper.join(5)
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

    # -- housekeeping -------------------------------------------------------------------------------
    def stream_consumer(self, stream_arn: str, consumer: str) -> Callable[[str], int]:
        """Register `consumer` as a reader of `stream_arn`; returns the callback it calls with the
        sequence number it has read through (records nobody still needs are then trimmed).

        Until every registered consumer has read something, nothing is trimmed by position."""
        self._read_positions.setdefault(stream_arn, {})[consumer] = None
        return lambda sequence_number: self._read_through(stream_arn, consumer, int(sequence_number))

    def _read_through(self, stream_arn: str, consumer: str, sequence_number: int) -> int:
        from infra.local import moto_fixes

        positions = self._read_positions[stream_arn]
        with self.lock:
            positions[consumer] = sequence_number
            if any(p is None for p in positions.values()):
                return 0
            shard = self._stream_shard(stream_arn)
            if shard is None:
                return 0
            return moto_fixes.trim_shard(shard, min(p for p in positions.values() if p is not None), self.stream_retain)

    def _stream_shard(self, stream_arn: str) -> Any:
        table = self._dynamodb().tables.get(stream_arn.split(":", 5)[5].split("/")[1])
        return table.stream_shard if table is not None else None

    def _dynamodb(self) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[ACCOUNT_ID][self.region]

    def sweep(self, now: float | None = None) -> int:
        """One housekeeping round: the items whose TTL has expired are deleted (a REMOVE stream
        record each, by the DynamoDB service) and stream records older than 24 hours dropped.
        The lock is taken in short steps, so requests interleave. Returns the items deleted."""
        from infra.local import moto_fixes

        at = time.time() if now is None else now
        deleted = 0
        for name in list(self._dynamodb().tables):
            with self.lock:
                table = self._dynamodb().tables.get(name)
                if table is None:
                    continue
                if table.stream_shard is not None:
                    moto_fixes.trim_shard(table.stream_shard, None, 0)
                hashes = list(table.items) if moto_fixes.ttl_enabled(table) else []
            for start in range(0, len(hashes), _TTL_SCAN_PER_LOCK):  # the lock is held for a slice at a time
                with self.lock:
                    keys = moto_fixes.expired_keys(table, at, hashes[start : start + _TTL_SCAN_PER_LOCK])
                    deleted += moto_fixes.expire_items(table, keys, at)
        if deleted:
            log.info("TTL deleted expired items", extra={"count": deleted})
        return deleted

    def _sweep_forever(self) -> None:
        while not self._stopping.wait(self.ttl_sweep_s):
            try:
                self.sweep()
            except Exception:
                log.exception("TTL sweep failed")
            memory.release_free_memory()


def _non_negative(environ: Mapping[str, str], name: str, default: float) -> Any:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = type(default)(raw)
    except ValueError:
        raise ValueError(f"{name} must be a non-negative number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must be a non-negative number, got {raw!r}")
    return value
