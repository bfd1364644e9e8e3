"""The NIK check against the population registry (the check_nik worker's side): one pending
submission decrypted, admitted by the registry gate (circuit breaker + paced per-second cap,
domain.resilience), checked, and its verdict stored with the result email, or deferred / retried
when the registry cannot answer now. The submission itself is domain.nik_service."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Protocol

from prakerja.domain import resilience
from prakerja.domain.models import OutboxJob
from prakerja.domain.nik import RegistryUnavailable, RegistryVerdict
from prakerja.domain.nik_service import NikCipher, NikStore
from prakerja.domain.ports import Clock


class Registry(Protocol):
    def check(self, nik: str, full_name: str, birth_date: dt.date, gender: str) -> RegistryVerdict: ...


class Deferred(Exception):  # noqa: N818 - a signal
    """Do not call the registry now (breaker open / rate cap): come back after `delay_s`,
    without spending one of the message's attempts."""

    def __init__(self, delay_s: float) -> None:
        super().__init__("deferred")
        self.delay_s = delay_s


class Transient(Exception):  # noqa: N818
    """The registry failed transiently: retry with backoff (spends an attempt)."""

    def __init__(self, retry_after_s: float | None) -> None:
        super().__init__("transient registry failure")
        self.retry_after_s = retry_after_s


VERDICTS: dict[RegistryVerdict, tuple[str, str | None]] = {
    RegistryVerdict.MATCH: ("VERIFIED", None),
    RegistryVerdict.MISMATCH: ("REJECTED", "MISMATCH"),
    RegistryVerdict.NOT_FOUND: ("REJECTED", "NOT_FOUND"),
}


class Gate(Protocol):
    """Admission to the registry: circuit breaker + rate cap (see domain.resilience)."""

    def admit(self) -> None:
        """Return to call now; raise Deferred to wait."""

    def succeeded(self) -> None: ...

    def failed(self) -> None: ...


class NikCheckService:
    def __init__(self, store: NikStore, cipher: NikCipher, registry: Registry, gate: Gate) -> None:
        self._store = store
        self._cipher = cipher
        self._registry = registry
        self._gate = gate

    def check_nik(self, registration_id: str, seq: int) -> str:
        """Run one check; returns the outcome ("VERIFIED", "REJECTED" or "STALE").
        Raises Deferred or Transient when the check must happen later."""
        reg = self._store.get(registration_id)
        if reg is None or reg.nik_status != "PENDING" or reg.nik_seq != seq or not reg.nik_ct:
            return "STALE"
        details = json.loads(self._cipher.decrypt(reg.nik_ct, registration_id))
        self._gate.admit()
        try:
            verdict = self._registry.check(
                details["nik"], details["full_name"], dt.date.fromisoformat(details["birth_date"]), details["gender"]
            )
        except RegistryUnavailable as exc:
            self._gate.failed()
            if reg.nik_reason != "UNAVAILABLE":
                self._store.mark_nik_delayed(registration_id, seq)
            raise Transient(exc.retry_after_s) from exc
        self._gate.succeeded()
        status, reason = VERDICTS[verdict]
        job = OutboxJob(
            kind="EMAIL",
            registration_id=registration_id,
            payload={"template": "nik_result", "nik_status": status, "nik_reason": reason},
        )
        stored = self._store.record_nik_result(
            registration_id, seq, status, reason, reg.nik_fp if status == "REJECTED" else None, job
        )
        return status if stored else "STALE"


class RegistryGate:
    """Gate over the shared circuit breaker and the paced per-second call cap (domain.resilience)."""

    def __init__(
        self,
        breaker: resilience.BreakerStore,
        slots: resilience.SlotStore,
        clock: Clock,
        config: resilience.BreakerConfig,
        max_rps: int,
        max_wait_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._breaker = breaker
        self._slots = slots
        self._clock = clock
        self._config = config
        self._max_rps = max_rps
        self._max_wait_s = max_wait_s
        self._sleep = sleep

    def admit(self) -> None:
        # The breaker first (usually one read), then the paced slot, so that the call leaves right
        # at its slot's moment. A probe claimed here waits at most max_wait_s, well inside its lease.
        decision = resilience.admit(self._breaker, self._clock.now(), self._config)
        if not decision.allowed:
            raise Deferred(decision.retry_after_s)
        if not resilience.paced_slot(self._slots, self._clock, self._max_rps, self._max_wait_s, self._sleep):
            raise Deferred(1.0)

    def succeeded(self) -> None:
        resilience.record(self._breaker, self._clock.now(), True, self._config)

    def failed(self) -> None:
        resilience.record(self._breaker, self._clock.now(), False, self._config)
