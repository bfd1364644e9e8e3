"""Fault injection in the local AWS: a share of calls fail the way AWS fails them.

`PRAKERJA_LOCAL_FAULTS` (or PUT to the admin path while the stack runs) is a comma-separated list of
rules::

    <service>:<operation>=<rate>[/<fault>]

    dynamodb:TransactWriteItems=0.05/TransactionConflict,sqs:*=0.02,*:*=0.01
    dynamodb:TransactWriteItems=#1/TransactionConflict   # exactly the next matching call
    kms:Decrypt=0.1/timeout:6          # held 6 s, then a 500; never applied
    dynamodb:PutItem=0.02/late:6       # applied, then the answer is held 6 s (the client timed out)
    secretsmanager:*=10%/delay:0.5     # slow but successful

- service: `dynamodb`, `dynamodbstreams`, `sqs`, `ses`, `kms`, `secretsmanager`, `s3` or `*`;
  operation: the API name (`TransactWriteItems`, `SendMessage`, `SendEmail`...), a glob
  (`Transact*`) or `*`; both case-insensitive.
- rate: a share of the matching calls, `0.05` or `5%`; or `#N`: the next N matching calls, then the
  rule is spent (deterministic tests: "the first transaction conflicts, the retry succeeds").
- fault: one of the service's errors below, or a slow form; without it each injected fault is one
  of the service's errors picked at random (`TransactionConflict` only on operations that can meet
  it). Errors and `timeout:` never apply the operation; `late:` applies it, then holds the answer
  (AWS sometimes does: the write happened but the client saw a timeout); `delay:` applies it after
  the pause and answers normally.
- The most specific rules for a call win (service and operation named > service named > operation
  named > `*:*`); among those, each rule is rolled in turn and the first hit is injected.

By default only calls made by the template's functions (and their event-source mappings) meet
faults: provisioning, the operator CLI and the tests' own reads do not (`PRAKERJA_LOCAL_FAULTS_SCOPE
=all` changes that). `PRAKERJA_LOCAL_FAULTS_SEED` makes the draws reproducible.

Admin (loopback only) on the moto server: `GET /_prakerja/faults` -> the rules and the count of
faults injected so far; `PUT /_prakerja/faults` with a spec as the body replaces the rules and
resets the counts (an empty body turns faults off).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.local.awswire import (
    AwsCall,
    ErrorReply,
    StartResponse,
    WsgiApp,
    describe,
    json_error,
    query_error,
    read_body,
    rewind,
    s3_error,
    send,
)
from infra.local.principal import PRINCIPAL_ENVIRON

log = logging.getLogger("infra.local.faults")
ADMIN_PATH = "/_prakerja/faults"
ENV_SPEC = "PRAKERJA_LOCAL_FAULTS"
ENV_SCOPE = "PRAKERJA_LOCAL_FAULTS_SCOPE"
ENV_SEED = "PRAKERJA_LOCAL_FAULTS_SEED"
SLOW_FORMS = ("timeout", "late", "delay")
_MAX_SLOW_S = 120.0
_DDB = "com.amazonaws.dynamodb.v20120810#"
_TRANSACTIONS = frozenset({"TransactWriteItems", "TransactGetItems"})
_SINGLE_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})


class FaultSpecError(ValueError):
    """An invalid fault spec; the message says which rule and why."""


# -- the errors AWS returns, per service -------------------------------------------------------------
ErrorBuilder = Callable[[AwsCall, random.Random], ErrorReply]


def _ddb(code: str, message: str, status: int = 400, prefix: str = _DDB) -> ErrorBuilder:
    return lambda call, _rng: json_error(call, code, message, status=status, type_prefix=prefix)


def _transaction_conflict(call: AwsCall, rng: random.Random) -> ErrorReply:
    if call.operation in _SINGLE_WRITES:
        return json_error(call, "TransactionConflictException", "Transaction is ongoing for the item", type_prefix=_DDB)
    items = call.params.get("TransactItems")
    count = len(items) if isinstance(items, list) and items else 1
    loser = rng.randrange(count)
    reasons = [
        {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
        if i == loser
        else {"Code": "None"}
        for i in range(count)
    ]
    codes = ", ".join(str(r["Code"]) for r in reasons)
    message = f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]"
    return json_error(
        call,
        "TransactionCanceledException",
        message,
        type_prefix=_DDB,
        extra={"Message": message, "CancellationReasons": reasons},
    )


def _sqs(code: str, message: str, status: int = 400, sender: bool = True) -> ErrorBuilder:
    return lambda call, _rng: json_error(
        call, code, message, status=status, type_prefix="com.amazonaws.sqs#", sender_fault=sender
    )


def _plain_json(code: str, message: str, status: int = 400) -> ErrorBuilder:
    return lambda call, _rng: json_error(call, code, message, status=status)


def _query(code: str, message: str, status: int = 400, sender: bool = True) -> ErrorBuilder:
    return lambda call, _rng: query_error(call, code, message, status=status, sender_fault=sender)


def _s3(code: str, message: str, status: int) -> ErrorBuilder:
    return lambda _call, _rng: s3_error(code, message, status=status)


ERRORS: dict[str, dict[str, ErrorBuilder]] = {
    "dynamodb": {
        "ProvisionedThroughputExceededException": _ddb(
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded. "
            "Consider increasing your provisioning level with the UpdateTable API.",
        ),
        "ThrottlingException": _ddb(
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
            prefix="com.amazon.coral.availability#",
        ),
        "RequestLimitExceeded": _ddb(
            "RequestLimitExceeded",
            "Throughput exceeds the current throughput limit for your account. "
            "Please contact AWS Support at https://aws.amazon.com/support request a limit increase",
        ),
        "InternalServerError": _ddb("InternalServerError", "Internal server error", status=500),
        "TransactionConflict": _transaction_conflict,
    },
    "dynamodbstreams": {
        "LimitExceededException": _ddb("LimitExceededException", "Rate exceeded for shard"),
        "InternalServerError": _ddb("InternalServerError", "Internal server error", status=500),
    },
    "sqs": {
        "RequestThrottled": _sqs("RequestThrottled", "Request is throttled."),
        "ThrottlingException": _sqs("ThrottlingException", "Rate exceeded."),
        "InternalError": _sqs("InternalError", "We encountered an internal error. Please try again.", 500, False),
    },
    "ses": {
        "Throttling": _query("Throttling", "Maximum sending rate exceeded."),
        "ServiceUnavailable": _query("ServiceUnavailable", "Service Unavailable", 503, False),
    },
    "kms": {
        "ThrottlingException": _plain_json("ThrottlingException", "Rate exceeded"),
        "KMSInternalException": _plain_json("KMSInternalException", "An internal error occurred.", 500),
    },
    "secretsmanager": {
        "ThrottlingException": _plain_json("ThrottlingException", "Rate exceeded"),
        "InternalServiceError": _plain_json("InternalServiceError", "An error occurred on the server side.", 500),
    },
    "s3": {
        "SlowDown": _s3("SlowDown", "Please reduce your request rate.", 503),
        "InternalError": _s3("InternalError", "We encountered an internal error. Please try again.", 500),
    },
}
# the error a `timeout:` fault answers once the client has (most likely) given up
_TIMEOUT_ERROR = {
    "dynamodb": "InternalServerError",
    "dynamodbstreams": "InternalServerError",
    "sqs": "InternalError",
    "ses": "ServiceUnavailable",
    "kms": "KMSInternalException",
    "secretsmanager": "InternalServiceError",
    "s3": "InternalError",
}


def applies(service: str, fault: str, operation: str) -> bool:
    """Whether a named error can happen on an operation (a conflict needs a transaction or a write)."""
    if fault == "TransactionConflict":
        return service == "dynamodb" and (operation in _TRANSACTIONS or operation in _SINGLE_WRITES)
    return True


# -- the spec ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FaultRule:
    service: str  # lower case or "*"
    operation: str  # as written ("*", a name or a glob), matched case-insensitively
    rate: float
    fault: str | None = None  # an error name of the service, or None for the service's mix
    slow: str | None = None  # timeout | late | delay
    seconds: float = 0.0
    count: int | None = None  # `#N`: the next N matching calls fail, then the rule is spent

    @property
    def specificity(self) -> int:
        return (2 if self.service != "*" else 0) + (1 if not _is_glob(self.operation) else 0)

    def matches(self, service: str, operation: str) -> bool:
        if self.service not in ("*", service):
            return False
        return fnmatch.fnmatchcase(operation.lower(), self.operation.lower())

    def describe(self) -> str:
        what = f"{self.slow}:{self.seconds:g}" if self.slow else (self.fault or "any")
        rate = f"#{self.count}" if self.count is not None else f"{self.rate:g}"
        return f"{self.service}:{self.operation}={rate}/{what}"


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


_RULE = re.compile(r"^\s*([A-Za-z0-9*-]+)\s*:\s*([A-Za-z0-9*?]+)\s*=\s*(#\d+|[0-9.]+%?)\s*(?:/\s*(\S+?))?\s*$")


def parse_spec(spec: str) -> list[FaultRule]:
    """Rules from `PRAKERJA_LOCAL_FAULTS` syntax; raises FaultSpecError naming the bad rule."""
    rules: list[FaultRule] = []
    for raw in spec.split(","):
        if not raw.strip():
            continue
        match = _RULE.match(raw)
        if not match:
            raise FaultSpecError(f"fault rule {raw.strip()!r}: expected <service>:<operation>=<rate>[/<fault>]")
        service, operation, rate_text, fault = match.groups()
        service = service.lower()
        if service != "*" and service not in ERRORS:
            raise FaultSpecError(
                f"fault rule {raw.strip()!r}: unknown service {service!r} (one of {', '.join(ERRORS)}, *)"
            )
        if rate_text.startswith("#"):
            rule = FaultRule(service, operation, 1.0, count=int(rate_text[1:]))
        else:
            rule = FaultRule(service, operation, _rate(rate_text, raw))
        rules.append(_with_fault(rule, fault, raw.strip()))
    return rules


def _rate(text: str, raw: str) -> float:
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise FaultSpecError(f"fault rule {raw.strip()!r}: rate {text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise FaultSpecError(f"fault rule {raw.strip()!r}: rate must be between 0 and 1 (or 0% and 100%)")
    return value


def _with_fault(rule: FaultRule, fault: str | None, raw: str) -> FaultRule:
    if fault is None:
        return rule
    form, sep, seconds_text = fault.partition(":")
    if sep and form.lower() in SLOW_FORMS:
        try:
            seconds = float(seconds_text.rstrip("s"))
        except ValueError:
            raise FaultSpecError(f"fault rule {raw!r}: {form}:<seconds> needs a number of seconds") from None
        if not 0 < seconds <= _MAX_SLOW_S:
            raise FaultSpecError(f"fault rule {raw!r}: seconds must be > 0 and <= {_MAX_SLOW_S:g}")
        return FaultRule(rule.service, rule.operation, rule.rate, None, form.lower(), seconds, rule.count)
    services = list(ERRORS) if rule.service == "*" else [rule.service]
    known = {name.lower(): name for s in services for name in ERRORS[s]}
    name = known.get(fault.lower()) or known.get(fault.lower() + "exception")
    if name is None:
        choices = sorted({n for s in services for n in ERRORS[s]})
        raise FaultSpecError(
            f"fault rule {raw!r}: unknown fault {fault!r} "
            f"(one of {', '.join(choices)}, timeout:<s>, late:<s>, delay:<s>)"
        )
    return FaultRule(rule.service, rule.operation, rule.rate, name, count=rule.count)


# -- the middleware ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    rule: FaultRule
    error: str | None  # the error to answer (None: delay/late, which answer what moto answers)

    @property
    def label(self) -> str:
        return f"{self.rule.slow}:{self.rule.seconds:g}" if self.rule.slow else str(self.error)


class FaultInjector:
    """WSGI middleware in front of moto: decides per call whether to fail it, and how."""

    def __init__(
        self,
        app: WsgiApp,
        rules: list[FaultRule] | None = None,
        *,
        scope_all: bool = False,
        seed: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._app = app
        self._rules = list(rules or [])
        self._spent: Counter[int] = Counter()  # rule index -> faults injected by a `#N` rule
        self._spec = ",".join(r.describe() for r in self._rules)
        self._scope_all = scope_all
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._sleep = sleep
        self.injected: Counter[str] = Counter()

    @classmethod
    def from_env(cls, app: WsgiApp, environ: Mapping[str, str]) -> FaultInjector:
        rules = parse_spec(environ.get(ENV_SPEC, ""))
        scope = environ.get(ENV_SCOPE, "functions").strip().lower()
        if scope not in ("functions", "all"):
            raise FaultSpecError(f"{ENV_SCOPE} must be 'functions' or 'all', got {scope!r}")
        seed_text = environ.get(ENV_SEED, "").strip()
        try:
            seed = int(seed_text) if seed_text else None
        except ValueError:
            raise FaultSpecError(f"{ENV_SEED} must be an integer, got {seed_text!r}") from None
        return cls(app, rules, scope_all=scope == "all", seed=seed)

    @property
    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def set_rules(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules = list(rules)
            self._spent.clear()
            self._spec = ",".join(r.describe() for r in rules)
            self.injected.clear()

    def decide(self, call: AwsCall) -> Decision | None:
        with self._lock:
            matching = [
                (i, r)
                for i, r in enumerate(self._rules)
                if r.matches(call.service, call.operation) and (r.count is None or self._spent[i] < r.count)
            ]
            if not matching:
                return None
            best = max(r.specificity for _, r in matching)
            for index, rule in ((i, r) for i, r in matching if r.specificity == best):
                if rule.rate <= 0 or self._rng.random() >= rule.rate:
                    continue
                decision = self._pick(call, rule)
                if decision is not None:
                    self._spent[index] += 1
                    return decision
            return None

    def _pick(self, call: AwsCall, rule: FaultRule) -> Decision | None:
        """The fault a hit rule injects into this call (None: it cannot happen to this operation)."""
        if rule.slow:
            error = _TIMEOUT_ERROR.get(call.service) if rule.slow == "timeout" else None
            if rule.slow == "timeout" and error is None:
                return None
            return Decision(rule, error)
        if rule.fault is not None:
            if call.service in ERRORS and applies(call.service, rule.fault, call.operation):
                return Decision(rule, rule.fault)
            return None
        mix = [n for n in ERRORS.get(call.service, {}) if applies(call.service, n, call.operation)]
        return Decision(rule, self._rng.choice(mix)) if mix else None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        if environ.get("PATH_INFO") == ADMIN_PATH:
            return self._admin(environ, start_response)
        if not self._rules or (not self._scope_all and not environ.get(PRINCIPAL_ENVIRON)):
            return self._app(environ, start_response)
        call = describe(environ)
        rewind(environ)
        decision = self.decide(call) if call is not None else None
        if decision is None or call is None:
            return self._app(environ, start_response)
        with self._lock:
            self.injected[f"{call.service}:{call.operation}/{decision.label}"] += 1
        log.info(
            "fault injected", extra={"service": call.service, "operation": call.operation, "fault": decision.label}
        )
        rule = decision.rule
        if rule.slow == "delay":
            self._sleep(rule.seconds)
            return self._app(environ, start_response)
        if rule.slow == "late":
            return self._late(environ, start_response, rule.seconds)
        if rule.slow == "timeout":
            self._sleep(rule.seconds)
        assert decision.error is not None
        return send(ERRORS[call.service][decision.error](call, self._rng), start_response)

    def _late(self, environ: dict[str, Any], start_response: StartResponse, seconds: float) -> list[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        iterable = self._app(environ, capture)
        try:
            body = b"".join(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        self._sleep(seconds)
        start_response(captured.get("status", "500 INTERNAL SERVER ERROR"), captured.get("headers", []))
        return [body]

    # -- admin -----------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "spec": self._spec,
                "rules": [r.describe() for r in self._rules],
                "scope": "all" if self._scope_all else "functions",
                "injected": dict(sorted(self.injected.items())),
                "total": sum(self.injected.values()),
            }

    def _admin(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        if not _loopback(environ.get("REMOTE_ADDR")):
            return _plain(start_response, "403 FORBIDDEN", {"error": "the fault admin path answers loopback only"})
        method = environ.get("REQUEST_METHOD", "GET")
        if method in ("PUT", "POST"):
            spec = read_body(environ).decode("utf-8", "replace").strip()
            try:
                self.set_rules(parse_spec(spec))
            except FaultSpecError as exc:
                return _plain(start_response, "400 BAD REQUEST", {"error": str(exc)})
            log.warning("fault rules replaced", extra={"rules": self._spec or "none"})
        elif method != "GET":
            return _plain(start_response, "405 METHOD NOT ALLOWED", {"error": "GET or PUT"})
        return _plain(start_response, "200 OK", self.snapshot())


def _loopback(address: Any) -> bool:
    return isinstance(address, str) and (address.startswith("127.") or address in ("::1", "localhost"))


def _plain(start_response: StartResponse, status: str, payload: Mapping[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
