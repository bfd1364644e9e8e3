"""RegistryClient over loopback HTTP: verdicts from the stand-in, and every kind of trouble
(timeouts, refused connections, 429/5xx, garbage) surfacing as RegistryUnavailable — never
as a verdict — within the client's timeout. Logs never carry the NIK or the name."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from infra.registry import RegistryStandIn, default_fixture_path, load_fixture
from prakerja.adapters.registry import RegistryClient, parse_retry_after
from prakerja.domain.nik import RegistryUnavailable, RegistryVerdict

NIK = "3273052107900001"
NAME = "Budi Santoso"
BIRTH = dt.date(1990, 7, 21)


@pytest.fixture
def standin() -> Iterator[RegistryStandIn]:
    with RegistryStandIn(
        load_fixture(default_fixture_path()), port=0, timeout_hold_s=10.0, rng=random.Random(2020)
    ) as service:
        yield service


# -- a scripted server for the odd answers ---------------------------------------------------
Script = Callable[[BaseHTTPRequestHandler], None]


class _Scripted(BaseHTTPRequestHandler):
    script: Script
    seen: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.seen.append(
            {"path": self.path, "headers": dict(self.headers), "body": json.loads(self.rfile.read(length))}
        )
        type(self).script(self)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def reply(status: int, body: bytes | str | dict[str, Any], headers: dict[str, str] | None = None) -> Script:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body.encode() if isinstance(body, str) else body

    def run(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)

    return run


@pytest.fixture
def scripted() -> Iterator[Callable[[Script], tuple[str, list[dict[str, Any]]]]]:
    servers: list[ThreadingHTTPServer] = []

    def start(script: Script) -> tuple[str, list[dict[str, Any]]]:
        seen: list[dict[str, Any]] = []
        handler = type("Handler", (_Scripted,), {"script": staticmethod(script), "seen": seen})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# -- verdicts -----------------------------------------------------------------------------------
def test_match(standin: RegistryStandIn) -> None:
    assert RegistryClient(standin.url, 2.0).check(NIK, NAME, BIRTH, "M") is RegistryVerdict.MATCH


def test_name_is_matched_case_and_space_insensitively(standin: RegistryStandIn) -> None:
    assert RegistryClient(standin.url, 2.0).check(NIK, "  budi   SANTOSO", BIRTH, "M") is RegistryVerdict.MATCH


def test_mismatch_with_fields(standin: RegistryStandIn) -> None:
    answer = RegistryClient(standin.url, 2.0).verify(NIK, "Budi Santosa", BIRTH, "M")
    assert answer.verdict is RegistryVerdict.MISMATCH
    assert answer.mismatched_fields == ("full_name",)


def test_not_found(standin: RegistryStandIn) -> None:
    assert RegistryClient(standin.url, 2.0).check("3273052107900002", NAME, BIRTH, "M") is RegistryVerdict.NOT_FOUND


def test_base_url_with_trailing_slash(standin: RegistryStandIn) -> None:
    assert RegistryClient(standin.url + "/", 2.0).check(NIK, NAME, BIRTH, "M") is RegistryVerdict.MATCH


def test_api_key_is_sent_when_configured() -> None:
    with RegistryStandIn(load_fixture(default_fixture_path()), port=0, api_key="k-123") as service:
        assert RegistryClient(service.url, 2.0, api_key="k-123").check(NIK, NAME, BIRTH, "M") is RegistryVerdict.MATCH
        with pytest.raises(RegistryUnavailable) as info:
            RegistryClient(service.url, 2.0, api_key="wrong").check(NIK, NAME, BIRTH, "M")
        assert info.value.status == 401


def test_request_shape(scripted: Callable[[Script], tuple[str, list[dict[str, Any]]]]) -> None:
    url, seen = scripted(reply(200, {"result": "MATCH"}))
    RegistryClient(url, 2.0).check(NIK, NAME, BIRTH, "F")
    assert seen[0]["path"] == "/v1/nik/verify"
    assert seen[0]["body"] == {"nik": NIK, "full_name": NAME, "birth_date": "1990-07-21", "gender": "F"}
    assert seen[0]["headers"]["Content-Type"] == "application/json"
    assert "X-Api-Key" not in seen[0]["headers"]


# -- trouble is never a verdict -------------------------------------------------------------------
def test_failure_rate_one_raises_unavailable_within_the_timeout(standin: RegistryStandIn) -> None:
    # Given a registry failing every call (503s and hangs), When the client calls with a 0.5 s timeout
    standin.faults.failure_rate = 1.0
    client = RegistryClient(standin.url, 0.5)
    reasons = set()
    for _ in range(10):
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable) as info:
            client.check(NIK, NAME, BIRTH, "M")
        # Then it gives up within its timeout (plus scheduling slack), never with a verdict
        assert time.monotonic() - started < 0.5 + 0.5
        reasons.add(info.value.reason)
    assert reasons == {"http-503", "timeout"}  # both kinds of failure (seeded fault injection)


def test_503_carries_retry_after(standin: RegistryStandIn) -> None:
    standin.faults.failure_rate = 1.0
    client = RegistryClient(standin.url, 0.3)
    for _ in range(20):
        try:
            client.check(NIK, NAME, BIRTH, "M")
        except RegistryUnavailable as exc:
            if exc.status == 503:
                assert exc.retry_after_s == 1.0
                return
    pytest.fail("no 503 in 20 calls at failure rate 1.0")


def test_latency_below_the_timeout_still_answers(standin: RegistryStandIn) -> None:
    standin.faults.latency_ms = 200
    started = time.monotonic()
    assert RegistryClient(standin.url, 2.0).check(NIK, NAME, BIRTH, "M") is RegistryVerdict.MATCH
    assert time.monotonic() - started >= 0.2


def test_latency_above_the_timeout_is_unavailable(standin: RegistryStandIn) -> None:
    standin.faults.latency_ms = 1500
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable) as info:
        RegistryClient(standin.url, 0.3).check(NIK, NAME, BIRTH, "M")
    assert info.value.reason == "timeout"
    assert time.monotonic() - started < 1.0


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: refused
        with pytest.raises(RegistryUnavailable) as info:
            RegistryClient(f"http://127.0.0.1:{port}", 1.0).check(NIK, NAME, BIRTH, "M")
    assert info.value.reason == "connection"


@pytest.mark.parametrize(
    ("script", "status", "retry_after"),
    [
        pytest.param(reply(429, {"error": "slow down"}, {"Retry-After": "7"}), 429, 7.0, id="429-retry-after"),
        pytest.param(reply(500, "oops"), 500, None, id="500"),
        pytest.param(reply(502, ""), 502, None, id="502"),
        pytest.param(reply(503, "", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), 503, 0.0, id="503-past-date"),
        pytest.param(reply(400, {"error": "bad"}), 400, None, id="400-our-bug-still-not-a-verdict"),
        pytest.param(reply(302, "", {"Location": "http://example.invalid/"}), 302, None, id="redirect-not-followed"),
    ],
)
def test_error_statuses_are_unavailable(
    scripted: Callable[[Script], tuple[str, list[dict[str, Any]]]],
    script: Script,
    status: int,
    retry_after: float | None,
) -> None:
    url, _ = scripted(script)
    with pytest.raises(RegistryUnavailable) as info:
        RegistryClient(url, 1.0).check(NIK, NAME, BIRTH, "M")
    assert info.value.status == status
    assert info.value.retry_after_s == retry_after


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        "{}",
        '{"result": "MAYBE"}',
        '{"result": null}',
        '"MATCH"',
        '{"result": "MISMATCH", "fields": "full_name"}',
        '{"result": "MISMATCH", "fields": [1]}',
    ],
)
def test_malformed_answers_are_unavailable(
    scripted: Callable[[Script], tuple[str, list[dict[str, Any]]]], body: str
) -> None:
    url, _ = scripted(reply(200, body))
    with pytest.raises(RegistryUnavailable) as info:
        RegistryClient(url, 1.0).check(NIK, NAME, BIRTH, "M")
    assert info.value.reason == "malformed"


def test_oversized_answer_is_unavailable(scripted: Callable[[Script], tuple[str, list[dict[str, Any]]]]) -> None:
    url, _ = scripted(reply(200, json.dumps({"result": "MATCH", "pad": "x" * 100_000})))
    with pytest.raises(RegistryUnavailable):
        RegistryClient(url, 1.0).check(NIK, NAME, BIRTH, "M")


def test_hang_up_without_answer_is_unavailable(scripted: Callable[[Script], tuple[str, list[dict[str, Any]]]]) -> None:
    def hang_up(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True

    url, _ = scripted(hang_up)
    with pytest.raises(RegistryUnavailable) as info:
        RegistryClient(url, 1.0).check(NIK, NAME, BIRTH, "M")
    assert info.value.reason == "connection"


def test_mismatch_without_fields_is_accepted(scripted: Callable[[Script], tuple[str, list[dict[str, Any]]]]) -> None:
    url, _ = scripted(reply(200, {"result": "MISMATCH"}))
    answer = RegistryClient(url, 1.0).verify(NIK, NAME, BIRTH, "M")
    assert answer.verdict is RegistryVerdict.MISMATCH and answer.mismatched_fields == ()


def test_logs_have_status_and_latency_but_no_personal_data(
    standin: RegistryStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    client = RegistryClient(standin.url, 0.3)
    with caplog.at_level(logging.DEBUG, logger="prakerja.registry"):
        client.check(NIK, NAME, BIRTH, "M")
        standin.faults.failure_rate = 1.0
        for _ in range(4):
            with pytest.raises(RegistryUnavailable):
                client.check(NIK, NAME, BIRTH, "M")
    assert caplog.records
    assert caplog.records[0].registry_status == 200  # type: ignore[attr-defined]
    assert caplog.records[0].latency_ms >= 0  # type: ignore[attr-defined]
    for rec in caplog.records:
        text = rec.getMessage() + json.dumps({k: str(v) for k, v in vars(rec).items()})
        assert NIK not in text and NIK[:12] not in text
        assert NAME.lower() not in text.lower()
        assert "1990-07-21" not in text


def test_exception_text_has_no_personal_data(standin: RegistryStandIn) -> None:
    standin.faults.failure_rate = 1.0
    with pytest.raises(RegistryUnavailable) as info:
        RegistryClient(standin.url, 0.3).check(NIK, NAME, BIRTH, "M")
    assert NIK not in str(info.value) and NAME not in str(info.value)
    assert info.value.__cause__ is None or NIK not in str(info.value.__cause__)


# -- configuration --------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["", "127.0.0.1:3100", "file:///etc/passwd", "ftp://x/"])
def test_rejects_non_http_urls(url: str) -> None:
    with pytest.raises(ValueError):
        RegistryClient(url, 1.0)


def test_rejects_non_positive_timeout() -> None:
    with pytest.raises(ValueError):
        RegistryClient("http://127.0.0.1:3100", 0)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("3", 3.0),
        (" 12 ", 12.0),
        ("soon", None),
        ("99999", 3600.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date_in_the_future() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480.0) == pytest.approx(30.0)
