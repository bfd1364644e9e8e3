"""`PRAKERJA_EMAIL_RATE_PER_S`: the local SES's maximum send rate, like a real account's quota.

With the switch set, moto's SES accepts at most that many emails in any second (a token bucket
holding at most one second of sends) and refuses the rest with SES's own throttling error (query
protocol: `Throttling`, "Maximum sending rate exceeded.", HTTP 400), so an email backlog, and the
sender's retries, can be reproduced locally. Unset (the default): no limit.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

ENV = "PRAKERJA_EMAIL_RATE_PER_S"
SEND_METHODS = ("send_email", "send_raw_email", "send_templated_email")

_patched = False
_rate: SendRate | None = None  # the limit in force (None: unlimited)


class SendRate:
    """A token bucket: `per_s` tokens a second, at most max(1, per_s) banked."""

    def __init__(self, per_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        if per_s <= 0:
            raise ValueError(f"{ENV} must be a positive number")
        self.per_s = per_s
        self._capacity = max(1.0, per_s)
        self._tokens = self._capacity
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()
        self.accepted = 0
        self.throttled = 0

    def admit(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._last) * self.per_s)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                self.accepted += 1
                return True
            self.throttled += 1
            return False


def rate_from_env(environ: Mapping[str, str] | None = None) -> float | None:
    raw = (os.environ if environ is None else environ).get(ENV, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{ENV} must be a positive number of emails per second, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{ENV} must be a positive number of emails per second, got {raw!r}")
    return value


def apply(per_s: float | None) -> SendRate | None:
    """Limit moto's SES (process-wide) to `per_s` emails a second; None lifts the limit."""
    global _patched, _rate
    _rate = SendRate(per_s) if per_s is not None else None
    if _patched or _rate is None:
        return _rate
    from moto.ses.exceptions import SesError
    from moto.ses.models import SESBackend

    # SES's model has no error shape for Throttling (it is a generic AWS error): moto warns once per send.
    warnings.filterwarnings("ignore", message=r"Exception\(Throttling\)")

    class Throttling(SesError):
        code = "Throttling"

        def __init__(self) -> None:
            super().__init__("Maximum sending rate exceeded.")

    def limited(original: Callable[..., Any]) -> Callable[..., Any]:
        def send(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _rate is not None and not _rate.admit():
                raise Throttling()
            return original(self, *args, **kwargs)

        return send

    for name in SEND_METHODS:
        setattr(SESBackend, name, limited(getattr(SESBackend, name)))
    _patched = True
    return _rate
