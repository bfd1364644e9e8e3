"""Local stand-in for the national population registry (Dukcapil) — never deployed.

Interface (what prakerja.adapters.registry.RegistryClient speaks):

    POST /v1/nik/verify  {"nik", "full_name", "birth_date": "YYYY-MM-DD", "gender": "M"|"F"}
        200 {"result": "MATCH"}
        200 {"result": "MISMATCH", "fields": ["full_name", "birth_date", "gender"]}  (those that differ)
        200 {"result": "NOT_FOUND"}
        400 {"error": "..."} malformed request; 401 when an API key is configured and
        X-Api-Key does not match; 503 + Retry-After: 1 for injected failures.

Admin, for tests (the server only listens on loopback):

    GET  /health             -> {"status": "ok"}
    GET  /_admin/config      -> {"failure_rate": x, "latency_ms": y}
    PUT  /_admin/config      {"failure_rate"?: 0..1, "latency_ms"?: >= 0} -> the new config
    GET  /_admin/stats       -> {"calls", "failures", "max_calls_in_one_second",
                                 "calls_per_second": {"<epoch second>": n, ... last 120 s}}
    POST /_admin/stats/reset -> the zeroed stats

Faults apply to /v1/nik/verify only: every call first waits `latency_ms`; then a share
`failure_rate` of calls fails, half answered 503 (Retry-After: 1), half "timed out": the
server holds the connection for TIMEOUT_HOLD_S (longer than any sane client timeout) and
closes it without answering. Waits wake up at shutdown. Names match case- and
whitespace-insensitively. No request body is ever logged.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT_PORT = 3100
HOST = "127.0.0.1"
TIMEOUT_HOLD_S = 10.0
STATS_WINDOW_S = 120
MAX_BODY_BYTES = 64 * 1024
MAX_LATENCY_MS = 60_000
GENDERS = ("M", "F")


class ConfigError(ValueError):
    """An invalid setting (environment or fixture); the message says which and why."""


# -- records --------------------------------------------------------------------------------------
def normalise_name(name: str) -> str:
    """Case- and whitespace-insensitive form: collapse internal whitespace, strip, casefold."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class Person:
    nik: str
    full_name: str
    birth_date: dt.date
    gender: str

    def compare(self, full_name: str, birth_date: dt.date, gender: str) -> list[str]:
        """Names of the fields that differ from this record (empty: a match)."""
        differ = []
        if normalise_name(full_name) != normalise_name(self.full_name):
            differ.append("full_name")
        if birth_date != self.birth_date:
            differ.append("birth_date")
        if gender != self.gender:
            differ.append("gender")
        return differ


def _parse_person(doc: Any) -> Person:
    if not isinstance(doc, dict):
        raise ValueError("expected a JSON object")
    nik, name, birth, gender = (doc.get(k) for k in ("nik", "full_name", "birth_date", "gender"))
    if not (isinstance(nik, str) and len(nik) == 16 and nik.isascii() and nik.isdigit()):
        raise ValueError("nik must be a string of 16 digits")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("full_name must be a non-empty string")
    if not isinstance(birth, str):
        raise ValueError("birth_date must be a string YYYY-MM-DD")
    try:
        birth_date = dt.date.fromisoformat(birth)
    except ValueError:
        raise ValueError("birth_date must be a real date YYYY-MM-DD") from None
    if gender not in GENDERS:
        raise ValueError("gender must be M or F")
    return Person(nik=nik, full_name=name, birth_date=birth_date, gender=gender)


def default_fixture_path() -> Path:
    return Path(str(resources.files("infra.registry").joinpath("default_fixture.jsonl")))


def load_fixture(path: str | os.PathLike[str]) -> dict[str, Person]:
    """Records by NIK from a JSON Lines file (blank lines ignored). Raises ConfigError naming
    the file and line of the first bad record."""
    records: dict[str, Person] = {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read fixture file {path}: {exc.strerror or exc}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            person = _parse_person(json.loads(line))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise ConfigError(f"fixture {path}, line {number}: {exc}") from None
        if person.nik in records:
            raise ConfigError(f"fixture {path}, line {number}: duplicate nik (also on an earlier line)")
        records[person.nik] = person
    return records


# -- configuration ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StandInConfig:
    port: int = DEFAULT_PORT
    fixture: Path | None = None  # None: the shipped default_fixture.jsonl
    failure_rate: float = 0.0
    latency_ms: float = 0.0
    api_key: str | None = None


def _failure_rate(raw: Any, name: str) -> float:
    if isinstance(raw, bool):
        raise ConfigError(f"{name} must be a number between 0 and 1")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number between 0 and 1, got {raw!r}") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ConfigError(f"{name} must be a number between 0 and 1, got {raw!r}")
    return value


def _latency_ms(raw: Any, name: str) -> float:
    if isinstance(raw, bool):
        raise ConfigError(f"{name} must be a number of milliseconds >= 0")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number of milliseconds >= 0, got {raw!r}") from None
    if not (math.isfinite(value) and 0.0 <= value <= MAX_LATENCY_MS):
        raise ConfigError(f"{name} must be a number of milliseconds between 0 and {MAX_LATENCY_MS}, got {raw!r}")
    return value


def config_from_env(environ: Mapping[str, str]) -> StandInConfig:
    """Read PRAKERJA_REGISTRY_* settings; ConfigError with a clear message when invalid."""
    port_raw = environ.get("PRAKERJA_REGISTRY_PORT", "").strip() or str(DEFAULT_PORT)
    if not (port_raw.isascii() and port_raw.isdigit() and 0 <= int(port_raw) <= 65535):
        raise ConfigError(f"PRAKERJA_REGISTRY_PORT must be a port number 0-65535, got {port_raw!r}")
    fixture_raw = environ.get("PRAKERJA_REGISTRY_FIXTURE", "").strip()
    fixture = Path(fixture_raw) if fixture_raw else None
    if fixture is not None and not fixture.is_file():
        raise ConfigError(f"PRAKERJA_REGISTRY_FIXTURE names no readable file: {fixture_raw!r}")
    rate_raw = environ.get("PRAKERJA_REGISTRY_FAILURE_RATE", "").strip() or "0"
    latency_raw = environ.get("PRAKERJA_REGISTRY_LATENCY_MS", "").strip() or "0"
    return StandInConfig(
        port=int(port_raw),
        fixture=fixture,
        failure_rate=_failure_rate(rate_raw, "PRAKERJA_REGISTRY_FAILURE_RATE"),
        latency_ms=_latency_ms(latency_raw, "PRAKERJA_REGISTRY_LATENCY_MS"),
        api_key=environ.get("PRAKERJA_REGISTRY_API_KEY") or None,
    )


# -- runtime state --------------------------------------------------------------------------------
@dataclass
class Faults:
    failure_rate: float
    latency_ms: float

    def to_json(self) -> dict[str, float]:
        return {"failure_rate": self.failure_rate, "latency_ms": self.latency_ms}


@dataclass
class Stats:
    calls: int = 0
    failures: int = 0
    max_calls_in_one_second: int = 0
    per_second: dict[int, int] = field(default_factory=dict)

    def count_call(self, now: float) -> None:
        second = math.floor(now)
        self.calls += 1
        n = self.per_second.get(second, 0) + 1
        self.per_second[second] = n
        self.max_calls_in_one_second = max(self.max_calls_in_one_second, n)
        for old in [s for s in self.per_second if s <= second - STATS_WINDOW_S]:
            del self.per_second[old]

    def to_json(self, now: float) -> dict[str, Any]:
        floor = math.floor(now) - STATS_WINDOW_S
        return {
            "calls": self.calls,
            "failures": self.failures,
            "max_calls_in_one_second": self.max_calls_in_one_second,
            "calls_per_second": {str(s): n for s, n in sorted(self.per_second.items()) if s > floor},
        }


class RegistryStandIn:
    """The service: records, fault settings and call statistics behind a threaded HTTP server.

    Use `start()` / `stop()` (or a `with` block); `port` is the bound port (pass port 0 for
    a free one)."""

    def __init__(
        self,
        records: Mapping[str, Person],
        *,
        port: int = DEFAULT_PORT,
        failure_rate: float = 0.0,
        latency_ms: float = 0.0,
        api_key: str | None = None,
        rng: random.Random | None = None,
        timeout_hold_s: float = TIMEOUT_HOLD_S,
    ) -> None:
        self.records = dict(records)
        self.api_key = api_key
        self.timeout_hold_s = timeout_hold_s
        self.faults = Faults(_failure_rate(failure_rate, "failure_rate"), _latency_ms(latency_ms, "latency_ms"))
        self.stats = Stats()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._rng = rng or random.Random()  # nosec B311 # fault injection, not security
        self._thread: threading.Thread | None = None
        self.httpd = _Server((HOST, port), _Handler, self)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> RegistryStandIn:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="registry-stand-in", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self.stopping.set()  # wakes calls sleeping in latency or a simulated timeout
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> RegistryStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # decisions, under the lock
    def roll_failure(self) -> str | None:
        """None, "503" or "timeout" for this call."""
        with self.lock:
            if self._rng.random() >= self.faults.failure_rate:
                return None
            self.stats.failures += 1
            return "503" if self._rng.random() < 0.5 else "timeout"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], service: RegistryStandIn
    ) -> None:
        self.service = service
        super().__init__(address, handler)


class _BadRequest(Exception):  # noqa: N818
    pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"
    server_version = "prakerja-registry-stand-in/1"
    sys_version = ""

    @property
    def service(self) -> RegistryStandIn:
        return self.server.service

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if os.environ.get("PRAKERJA_REGISTRY_VERBOSE"):
            # request line and status only: never bodies
            sys.stderr.write(f"registry stand-in: {format % args}\n")

    # -- plumbing
    def _send(self, status: int, doc: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> None:
        body = json.dumps(doc).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _read_json(self) -> Any:
        length_raw = self.headers.get("Content-Length")
        if length_raw is None or not length_raw.isdigit():
            raise _BadRequest("Content-Length is required")
        length = int(length_raw)
        if length > MAX_BODY_BYTES:
            raise _BadRequest("body too large")
        raw = self.rfile.read(length)
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise _BadRequest("body must be JSON") from None

    def _route(self) -> str:
        return self.path.split("?", 1)[0]

    # -- verbs
    def do_GET(self) -> None:
        path = self._route()
        if path == "/health":
            self._send(200, {"status": "ok"})
        elif path == "/_admin/config":
            with self.service.lock:
                self._send(200, self.service.faults.to_json())
        elif path == "/_admin/stats":
            with self.service.lock:
                doc = self.service.stats.to_json(time.time())
            self._send(200, doc)
        else:
            self._send(404, {"error": "not found"})

    def do_PUT(self) -> None:
        if self._route() != "/_admin/config":
            self._send(404, {"error": "not found"})
            return
        try:
            doc = self._read_json()
            if not isinstance(doc, dict) or not doc or set(doc) - {"failure_rate", "latency_ms"}:
                raise _BadRequest('expected {"failure_rate"?: 0..1, "latency_ms"?: >= 0}')
            rate = _failure_rate(doc["failure_rate"], "failure_rate") if "failure_rate" in doc else None
            latency = _latency_ms(doc["latency_ms"], "latency_ms") if "latency_ms" in doc else None
        except (_BadRequest, ConfigError) as exc:
            self._send(400, {"error": str(exc)})
            return
        with self.service.lock:
            if rate is not None:
                self.service.faults.failure_rate = rate
            if latency is not None:
                self.service.faults.latency_ms = latency
            current = self.service.faults.to_json()
        self._send(200, current)

    def do_POST(self) -> None:
        path = self._route()
        if path == "/_admin/stats/reset":
            with self.service.lock:
                self.service.stats = Stats()
                doc = self.service.stats.to_json(time.time())
            self._send(200, doc)
        elif path == "/v1/nik/verify":
            self._verify()
        else:
            self._send(404, {"error": "not found"})

    def _verify(self) -> None:
        service = self.service
        with service.lock:
            service.stats.count_call(time.time())
            latency_s = service.faults.latency_ms / 1000.0
        if latency_s > 0 and service.stopping.wait(latency_s):
            self.close_connection = True
            return
        failure = service.roll_failure()
        if failure == "503":
            self._send(503, {"error": "registry overloaded, retry later"}, {"Retry-After": "1"})
            return
        if failure == "timeout":
            service.stopping.wait(service.timeout_hold_s)
            self.close_connection = True  # hang up without an answer
            return
        if service.api_key is not None and self.headers.get("X-Api-Key") != service.api_key:
            self._send(401, {"error": "missing or wrong X-Api-Key"})
            return
        try:
            doc = self._read_json()
            query = _parse_person(doc)
        except (_BadRequest, ValueError) as exc:
            self._send(400, {"error": str(exc)})
            return
        record = service.records.get(query.nik)
        if record is None:
            self._send(200, {"result": "NOT_FOUND"})
            return
        differ = record.compare(query.full_name, query.birth_date, query.gender)
        if differ:
            self._send(200, {"result": "MISMATCH", "fields": differ})
        else:
            self._send(200, {"result": "MATCH"})


def build_from_config(config: StandInConfig) -> RegistryStandIn:
    records = load_fixture(config.fixture or default_fixture_path())
    return RegistryStandIn(
        records,
        port=config.port,
        failure_rate=config.failure_rate,
        latency_ms=config.latency_ms,
        api_key=config.api_key,
    )
