"""HTTP client for the population registry (stdlib urllib: no extra dependency in the Lambda).

Wire protocol (spoken by the local stand-in, infra/registry, and by whatever gateway fronts
the real Dukcapil service; URL and credentials come from configuration):

    POST {base_url}/v1/nik/verify
    Content-Type: application/json
    X-Api-Key: <key>                       (only when configured)
    {"nik": "<16 digits>", "full_name": "...", "birth_date": "YYYY-MM-DD", "gender": "M"|"F"}

    200 {"result": "MATCH"}
    200 {"result": "MISMATCH", "fields": ["full_name", ...]}
    200 {"result": "NOT_FOUND"}
    400 malformed request; 401 bad/missing key; 429/503 overloaded (Retry-After); 5xx failure

Only a 200 with one of the three results is a verdict. Everything else (timeout, connection
error, any other status, an unreadable body, a redirect) raises `RegistryUnavailable`, so a
failure on our side or theirs can never turn into a rejection of a person. Logs carry the
status, the outcome and the latency, never the NIK, the name or the birth date.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import http.client
import ipaddress
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from prakerja.domain.nik import RegistryAnswer, RegistryUnavailable, RegistryVerdict

log = logging.getLogger("prakerja.registry")

VERIFY_PATH = "/v1/nik/verify"
MAX_BODY_BYTES = 64 * 1024
MAX_RETRY_AFTER_S = 3600.0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect surfaces as an HTTPError with its 3xx status


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    delta = when.timestamp() - (time.time() if now is None else now)
    return min(max(0.0, delta), MAX_RETRY_AFTER_S)


class RegistryClient:
    """`check` implements the `Registry` port of prakerja.domain.registry_check."""

    def __init__(self, base_url: str, timeout_s: float, api_key: str | None = None) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("registry base_url must be an absolute http(s) URL")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        self._url = base_url.rstrip("/") + VERIFY_PATH
        self._timeout_s = timeout_s
        self._api_key = api_key or None
        self._loopback = _is_loopback(parsed.hostname)

    @functools.cached_property
    def _opener(self) -> urllib.request.OpenerDirector:
        """Built on the first registry call: its HTTPS handler loads the system's CA certificates
        (~15 ms of CPU), which a worker that finds nothing to check, or defers every job while the
        breaker is open, never needs."""
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        if self._loopback:
            handlers.append(urllib.request.ProxyHandler({}))  # never send loopback calls via a proxy
        return urllib.request.build_opener(*handlers)

    def check(self, nik: str, full_name: str, birth_date: dt.date, gender: str) -> RegistryVerdict:
        return self.verify(nik, full_name, birth_date, gender).verdict

    def verify(self, nik: str, full_name: str, birth_date: dt.date, gender: str) -> RegistryAnswer:
        body = json.dumps(
            {"nik": nik, "full_name": full_name, "birth_date": birth_date.isoformat(), "gender": gender}
        ).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["X-Api-Key"] = self._api_key
        # S310: the scheme is checked (http/https only) in __init__
        request = urllib.request.Request(self._url, data=body, headers=headers, method="POST")  # noqa: S310
        started = time.monotonic()
        status: int | None = None
        try:
            with self._opener.open(request, timeout=self._timeout_s) as response:
                status = response.status
                raw = response.read(MAX_BODY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            status = exc.code
            retry_after = parse_retry_after(exc.headers.get("Retry-After") if exc.headers else None)
            exc.close()
            self._log("http-error", status, started, level=logging.ERROR if status in (400, 401, 403) else None)
            raise RegistryUnavailable(f"http-{status}", retry_after_s=retry_after, status=status) from None
        except TimeoutError as exc:  # socket.timeout is TimeoutError
            self._log("timeout", None, started)
            raise RegistryUnavailable("timeout") from exc
        except urllib.error.URLError as exc:
            reason = "timeout" if isinstance(exc.reason, TimeoutError) else "connection"
            self._log(reason, None, started)
            raise RegistryUnavailable(reason) from None
        except (http.client.HTTPException, OSError) as exc:
            self._log("connection", status, started)
            raise RegistryUnavailable("connection") from exc

        answer = self._parse(status, raw)
        if answer is None:
            self._log("malformed", status, started)
            raise RegistryUnavailable("malformed", status=status)
        self._log(answer.verdict.value, status, started)
        return answer

    @staticmethod
    def _parse(status: int | None, raw: bytes) -> RegistryAnswer | None:
        if status != 200 or len(raw) > MAX_BODY_BYTES:
            return None
        try:
            doc = json.loads(raw)
            verdict = RegistryVerdict(doc["result"])
        except (ValueError, TypeError, KeyError):
            return None
        fields: tuple[str, ...] = ()
        if verdict is RegistryVerdict.MISMATCH:
            listed = doc.get("fields", [])
            if not isinstance(listed, list) or not all(isinstance(f, str) for f in listed):
                return None
            fields = tuple(listed)
        return RegistryAnswer(verdict=verdict, mismatched_fields=fields)

    @staticmethod
    def _log(outcome: str, status: int | None, started: float, *, level: int | None = None) -> None:
        latency_ms = round((time.monotonic() - started) * 1000, 1)
        if level is None:
            level = logging.INFO if outcome in ("MATCH", "MISMATCH", "NOT_FOUND") else logging.WARNING
        log.log(
            level,
            "registry call %s",
            outcome,
            extra={"registry_outcome": outcome, "registry_status": status, "latency_ms": latency_ms},
        )
