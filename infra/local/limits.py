"""Per-route throttles and per-client rate rules of the template, enforced by the local gateway.

- API Gateway stage throttles (the Api's `MethodSettings`: ThrottlingRateLimit / BurstLimit per
  resource path and method, `/*` `*` the stage default): one token bucket per route, shared by all
  clients, as API Gateway does. Over the limit: 429 `throttled`, `Retry-After: 1` (the template's
  THROTTLED gateway response).
- AWS WAF rate-based rules (`ApiWebAcl.Metadata.RateLimits`: rule, method, API path, limit per
  window): requests per client address in a sliding window, per rule. Over the limit: 429
  `throttled` with the web ACL's custom body and `Retry-After` (seconds until the oldest counted
  request leaves the window).

`PRAKERJA_LOCAL_LIMITS=off` turns both off (load tests and the end-to-end suite, which fire many
requests from 127.0.0.1). The client address is the TCP peer; `X-Forwarded-For` (first address)
is honoured only with `PRAKERJA_LOCAL_LIMITS_TRUST_XFF=on` (tests that play several clients).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.local import apigw
from infra.local.apigw import HttpResponse

ENV_SWITCH = "PRAKERJA_LOCAL_LIMITS"
ENV_TRUST_XFF = "PRAKERJA_LOCAL_LIMITS_TRUST_XFF"
THROTTLED_TITLE = "Too many requests"
WAF_DETAIL = "Too many requests from your network address; wait a few minutes and retry."
STAGE_DETAIL = "Too many requests for this route right now; retry in a moment."
MAX_TRACKED_CLIENTS = 100_000


def enabled(environ: Mapping[str, str]) -> bool:
    value = environ.get(ENV_SWITCH, "on").strip().lower()
    if value not in {"on", "off"}:
        raise ValueError(f"{ENV_SWITCH} must be on or off, not {value!r}")
    return value == "on"


def trust_forwarded_for(environ: Mapping[str, str]) -> bool:
    return environ.get(ENV_TRUST_XFF, "off").strip().lower() == "on"


class TokenBucket:
    """rate tokens per second, at most `burst` stored (API Gateway's throttle model)."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = max(rate, 0.0)
        self.burst = max(burst, 0)
        self.tokens = float(self.burst)
        self.at = now

    def take(self, now: float) -> bool:
        self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(frozen=True)
class RateRule:
    rule: str
    method: str
    path: str
    limit: int
    window_s: int


class SlidingWindow:
    """Request times per client within the last `window_s` seconds."""

    def __init__(self, limit: int, window_s: int) -> None:
        self.limit = limit
        self.window_s = window_s
        self.hits: dict[str, deque[float]] = {}

    def admit(self, client: str, now: float) -> float | None:
        """None when admitted (and counted); else seconds until a request would be admitted."""
        hits = self.hits.get(client)
        if hits is None:
            if len(self.hits) >= MAX_TRACKED_CLIENTS:
                self._forget_idle(now)
            hits = self.hits[client] = deque()
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return hits[0] + self.window_s - now
        hits.append(now)
        return None

    def _forget_idle(self, now: float) -> None:
        for client in [c for c, h in self.hits.items() if not h or h[-1] <= now - self.window_s]:
            del self.hits[client]


class Limits:
    def __init__(
        self,
        throttles: Mapping[tuple[str, str], tuple[float, int]],
        rules: Iterable[RateRule],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """throttles: (METHOD or *, resource path or /*) -> (rate per second, burst)."""
        self._clock = clock
        self._lock = threading.Lock()
        now = clock()
        self._buckets = {key: TokenBucket(rate, burst, now) for key, (rate, burst) in throttles.items()}
        self._rules = [(rule, SlidingWindow(rule.limit, rule.window_s)) for rule in rules]

    @property
    def rules(self) -> list[RateRule]:
        return [rule for rule, _ in self._rules]

    def check(self, method: str, resource_path: str, client: str) -> HttpResponse | None:
        """None to let the request through; else the 429 to answer (WAF first, as in AWS)."""
        method = method.upper()
        with self._lock:
            now = self._clock()
            for rule, window in self._rules:
                if rule.method == method and rule.path == resource_path:
                    wait = window.admit(client, now)
                    if wait is not None:
                        return throttled(WAF_DETAIL, max(1, math.ceil(wait)))
            bucket = self._buckets.get((method, resource_path)) or self._buckets.get(("*", "/*"))
            if bucket is not None and not bucket.take(now):
                return throttled(STAGE_DETAIL, 1)
        return None


def throttled(detail: str, retry_after_s: int) -> HttpResponse:
    return apigw.problem(
        429,
        "throttled",
        THROTTLED_TITLE,
        detail,
        headers=[("Retry-After", str(retry_after_s)), ("Access-Control-Expose-Headers", "Retry-After")],
    )


def resource_path(method_setting_path: str) -> str:
    """MethodSettings' ResourcePath (`/~1registrations~1{id}`) -> `/registrations/{id}`."""
    if method_setting_path == "/*":
        return "/*"
    return method_setting_path.removeprefix("/").replace("~1", "/") or "/"


def throttles_of(method_settings: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], tuple[float, int]]:
    found: dict[tuple[str, str], tuple[float, int]] = {}
    for setting in method_settings:
        if "ThrottlingRateLimit" not in setting and "ThrottlingBurstLimit" not in setting:
            continue
        key = (str(setting.get("HttpMethod", "*")).upper(), resource_path(str(setting.get("ResourcePath", "/*"))))
        rate = float(setting.get("ThrottlingRateLimit", 10_000))
        burst = int(setting.get("ThrottlingBurstLimit", 5_000))
        found[key] = (rate, burst)
    return found


def rules_of(rate_limits: Iterable[Mapping[str, Any]]) -> list[RateRule]:
    return [
        RateRule(
            rule=str(r["Rule"]),
            method=str(r["Method"]).upper(),
            path=str(r["Path"]),
            limit=int(r["Limit"]),
            window_s=int(r["WindowSeconds"]),
        )
        for r in rate_limits
    ]


def client_address(peer: str, headers: Iterable[tuple[str, str]], trust_xff: bool) -> str:
    if trust_xff:
        for name, value in headers:
            if name.lower() == "x-forwarded-for" and value.strip():
                return value.split(",")[0].strip()
    return peer
