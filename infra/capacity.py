"""`prakerja capacity`: the capacity plan for a registration peak, from template.yaml's settings.

    prakerja capacity --peak-per-minute 80000 [--peak-minutes 15] [--region ap-southeast-3]
                      [--durations FILE] [--mix FILE] [--parameter Name=Value ...] [--json]

For each resource on the way of a registrant, the demand at the peak, what the template
configures, the default AWS quota and a verdict:

- OK              the configured setting and the default quota both cover the demand;
- RAISE QUOTA     an account quota (or the registry's agreed rate) must be raised before launch;
- CHANGE TEMPLATE a template setting or parameter (or, for a hot key, the key design) is too small.

The model (every figure it uses is printed under "Assumptions"):
- every step of the journey runs at the registration rate times its share in the journey mix
  (`--mix`: requests per registrant, per "METHOD /path"), i.e. the peak is sustained long
  enough for every step to catch up with it;
- Lambda concurrency = requests/s x p99 duration (`--durations`: p99 ms per function logical id);
- DynamoDB units per request come from reading the adapters (src/prakerja/adapters/*.py): a
  transactional write costs 2 WCU per item, a plain write 1, a strongly consistent read 1 RCU,
  an eventually consistent one 0.5; every item is taken to be <= 1 KB written, <= 4 KB read;
- a backlog (email, NIK checks) builds while arrivals exceed the drain rate during the peak; the
  rate needed to keep the wait under a target T is demand x peak / (peak + T).

Nothing here calls AWS: the template and the options are the only inputs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OK, RAISE_QUOTA, CHANGE_TEMPLATE = "OK", "RAISE QUOTA", "CHANGE TEMPLATE"
# KMS "Cryptographic operations (symmetric) request rate": one quota shared by Encrypt, Decrypt,
# GenerateDataKey, GenerateMac, VerifyMac... per account and region (5,500/s in most regions,
# more in a few; the Service Quotas console shows the account's value: --kms-rate).
KMS_SYMMETRIC_RPS = 5_500.0
# KMS calls per request/message: NIK submission = GenerateMac (the NIK's fingerprint, NikMacKey) +
# Encrypt (the submission, NikKey); a NIK check = Decrypt (its ciphertext).
KMS_CALLS_PER_NIK_SUBMISSION = 2
KMS_CALLS_PER_NIK_CHECK = 1
DEFAULT_TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
DEFAULT_REGION = "ap-southeast-3"

# -- AWS default quotas (docs: API Gateway "quotas", Lambda "concurrency"/"scaling", DynamoDB
#    "service quotas" / "warm throughput", SES "quotas") ---------------------------------------------
APIGW_ACCOUNT_RPS = 10_000
APIGW_ACCOUNT_BURST = 5_000
APIGW_LOW_RPS = 2_500  # default in the regions below (API Gateway quotas page)
APIGW_LOW_BURST = 1_250
APIGW_LOW_REGIONS = frozenset(
    {
        "af-south-1",  # Cape Town
        "eu-south-1",  # Milan
        "ap-southeast-3",  # Jakarta
        "me-central-1",  # UAE
        "ap-south-2",  # Hyderabad
        "ap-southeast-4",  # Melbourne
        "eu-south-2",  # Spain
        "eu-central-2",  # Zurich
        "il-central-1",  # Tel Aviv
        "ca-west-1",  # Calgary
        "ap-southeast-5",  # Malaysia
        "ap-southeast-7",  # Thailand
        "mx-central-1",  # Mexico (Central)
    }
)
LAMBDA_ACCOUNT_CONCURRENCY = 1_000
LAMBDA_SCALING_STEP = 1_000  # per function: +1,000 execution environments ...
LAMBDA_SCALING_PERIOD_S = 10  # ... every 10 seconds
DDB_NEW_ON_DEMAND_WRU = 4_000  # a new on-demand table serves this at once, then scales
DDB_NEW_ON_DEMAND_RRU = 12_000
DDB_TABLE_MAX_WRU = 40_000  # on-demand per-table maximum (account quota, adjustable)
DDB_TABLE_MAX_RRU = 40_000
DDB_PARTITION_WCU = 1_000
DDB_PARTITION_RCU = 3_000
SES_SANDBOX_RATE = 1.0

# -- The journey: requests per registrant at the peak, per API route --------------------------------
DEFAULT_MIX: dict[str, float] = {
    "POST /registrations": 1.0,
    "POST /registrations/{id}/email-verification": 1.2,  # a mistyped code now and then
    "POST /registrations/{id}/email-verification/resend": 0.3,  # while the email queue lags
    "POST /sessions": 0.5,  # coming back on another device
    "GET /registrations/{id}": 2.0,  # polling the NIK / photo status
    "GET /health": 0.0,  # monitors only
    "GET /status": 2.0,  # the public status page
    "POST /registrations/{id}/nik": 1.0,
    "POST /registrations/{id}/photo": 1.0,
    "GET /batches": 1.0,
    "POST /registrations/{id}/batch": 1.0,
    "POST /password-resets": 0.02,  # a forgotten password now and then (people just registered)
    "POST /password-resets/confirm": 0.03,  # with a mistyped code
    "DELETE /sessions/current": 0.05,  # signing out on a shared device
    "GET /registrations/{id}/personal-data": 0.05,  # a data-access request now and then
    "DELETE /registrations/{id}": 0.01,  # erasure: rare
}
UNKNOWN_ROUTE_MIX = 1.0

# -- p99 duration per function (ms), warm, 1024 MB arm64 ------------------------------------------------
# API functions: per request. Workers: per message (send_email: one SES call; check_nik: breaker,
# pacing slot, registry call (timeout 3 s, usually ~300 ms), result transaction; inspect_photo:
# S3 GET + image decode of up to a few MB).
DEFAULT_DURATIONS_MS: dict[str, float] = {
    "RegisterFunction": 600,  # scrypt (N=2^15) + one transaction
    "CreateSessionFunction": 600,  # scrypt + reads
    "VerifyEmailFunction": 150,
    "ResendCodeFunction": 150,
    "GetRegistrationFunction": 100,
    "HealthFunction": 20,
    "StatusFunction": 50,
    "VerifyNikFunction": 250,  # KMS Encrypt + one transaction
    "UploadPhotoFunction": 150,
    "ListBatchesFunction": 150,
    "JoinBatchFunction": 200,
    "RequestPasswordResetFunction": 150,
    "ConfirmPasswordResetFunction": 700,  # scrypt of the new password + reads + one transaction
    "DeleteSessionFunction": 100,
    "GetPersonalDataFunction": 100,
    "DeleteRegistrationFunction": 700,  # scrypt + S3 deletes + one transaction
    "SendEmailFunction": 100,
    "CheckNikFunction": 500,
    "InspectPhotoFunction": 500,
}
UNKNOWN_FUNCTION_MS = 200.0


@dataclass(frozen=True)
class Cost:
    """DynamoDB units one request costs (items <= 1 KB written, <= 4 KB read)."""

    wcu: float
    rcu: float
    why: str


def route_costs(seat_reads: float) -> dict[str, Cost]:
    """Units per API request, from the adapters. `seat_reads`: the seat shard items a batch read
    returns (BatchGetItem, eventually consistent: 0.5 RCU each)."""
    return {
        "POST /registrations": Cost(
            8, 0, "TransactWriteItems REG+EMAIL+OUTBOX+IDEM (4 items x 2): DynamoRegistrationStore.create"
        ),
        "POST /registrations/{id}/email-verification": Cost(
            4.4,
            0,
            "UpdateItem REG (attempt reserved, ALL_NEW) for every check + TransactWriteItems REG+EMAIL "
            "(2 x 2) for the 1 success per registrant, 0.2 wrong codes: (1.2 + 4) / 1.2",
        ),
        "POST /registrations/{id}/email-verification/resend": Cost(
            6, 1, "GetItem REG + TransactWriteItems REG+EMAIL+OUTBOX (3 x 2): replace_code"
        ),
        "POST /sessions": Cost(
            2, 1, "GetItem EMAIL + UpdateItem REG (check reserved, ALL_NEW) + UpdateItem REG (released)"
        ),
        "GET /registrations/{id}": Cost(0, 1, "GetItem REG (consistent)"),
        "GET /health": Cost(0, 0, "no AWS call"),
        "GET /status": Cost(0, 0, "cached per execution environment (<= 1 AWS call / 15 s)"),
        "POST /registrations/{id}/nik": Cost(
            7, 0, "UpdateItem REG (daily budget reserved, ALL_NEW) + TransactWriteItems REG+NIK claim+OUTBOX (3 x 2)"
        ),
        "POST /registrations/{id}/photo": Cost(1, 1, "GetItem REG + UpdateItem REG (upload key)"),
        "GET /batches": Cost(
            0, 0.5 + 0.5 * seat_reads, "Query BATCHES (0.5) + BatchGetItem seat shards (0.5 each, eventual)"
        ),
        "POST /registrations/{id}/batch": Cost(
            4, 1 + 0.5 * seat_reads, "GetItem REG + BatchGetItem seat shards + TransactWriteItems SEAT+REG (2 x 2)"
        ),
        "POST /password-resets": Cost(4, 2, "BatchGetItem EMAIL+RESET (consistent) + TransactWriteItems RESET+OUTBOX"),
        "POST /password-resets/confirm": Cost(
            7, 1, "UpdateItem RESET (check reserved, ALL_NEW) + GetItem REG + TransactWriteItems REG+RESET+EMAIL"
        ),
        "DELETE /sessions/current": Cost(1, 0, "UpdateItem REG (token generation raised)"),
        "GET /registrations/{id}/personal-data": Cost(0, 1, "GetItem REG (consistent)"),
        "DELETE /registrations/{id}": Cost(
            12, 1, "GetItem REG + TransactWriteItems REG+EMAIL+LOGIN+RESET+NIK+SEAT (up to 6 x 2) + S3 deletes"
        ),
    }


UNKNOWN_ROUTE_COST = Cost(1, 1, "not modelled: assumed 1 read + 1 write")
# Workers, per message.
SEND_EMAIL_COST = Cost(1, 1, "GetItem REG + UpdateItem REG (code hand-off time)")
CHECK_NIK_COST = Cost(
    5,
    3,
    "GetItem REG + 2 breaker reads + pacing-slot UpdateItem (1) + TransactWriteItems REG+OUTBOX (2 x 2)",
)
INSPECT_PHOTO_COST = Cost(1, 0, "UpdateItem REG (photo result)")
FUNNEL_CHUNK = 90  # DynamoFunnelStore: counted records per transaction


# -- template settings ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Throttle:
    rate: float
    burst: float
    source: str  # the MethodSettings entry it comes from


@dataclass(frozen=True)
class Worker:
    function: str
    max_concurrency: float | None
    batch_size: int
    source: str  # where the concurrency cap is set


@dataclass
class Settings:
    routes: list[Route] = field(default_factory=list)
    throttles: dict[str, Throttle] = field(default_factory=dict)  # route key -> effective throttle
    workers: dict[str, Worker] = field(default_factory=dict)
    warm_wcu: float | None = None
    warm_rcu: float | None = None
    warm_source: dict[str, str] = field(default_factory=dict)  # "write"/"read" -> what sets it
    billing_mode: str = "PROVISIONED"
    relay_batch_size: int = 100
    registry_max_rps: float = 0.0
    parameters: dict[str, Any] = field(default_factory=dict)


def _decode_resource_path(resource_path: str) -> str:
    """MethodSettings' ResourcePath: "/" + the path with "/" escaped as "~1"."""
    return resource_path[1:].replace("~1", "/") if resource_path.startswith("/") else resource_path


class Resolver:
    def __init__(self, parameters: Mapping[str, Any], overrides: Mapping[str, str]) -> None:
        self.values: dict[str, Any] = {name: spec.get("Default") for name, spec in parameters.items()}
        for name, value in overrides.items():
            if name not in parameters:
                raise CapacityError(f"--parameter {name}: the template has no such parameter")
            self.values[name] = value

    def number(self, value: Any, what: str) -> float:
        if isinstance(value, dict) and set(value) == {"Ref"}:
            value = self.values.get(str(value["Ref"]))
        try:
            return float(value)
        except (TypeError, ValueError):
            raise CapacityError(f"{what}: {value!r} is not a number (or a parameter with a default)") from None


class CapacityError(Exception):
    """Bad input (template, option or file): one line on stderr, exit code 1."""


def read_settings(template_path: Path, overrides: Mapping[str, str] | None = None) -> Settings:
    from infra.local.template import TemplateError, load_template

    try:
        template = load_template(template_path)
    except TemplateError as exc:
        raise CapacityError(str(exc)) from None
    resolve = Resolver(template.parameters, overrides or {})
    settings = Settings(parameters=dict(resolve.values))
    method_settings: list[dict[str, Any]] = []
    for lid, res in template.resources.items():
        props = res.get("Properties") or {}
        rtype = res.get("Type")
        if rtype == "AWS::Serverless::Api":
            method_settings.extend(props.get("MethodSettings") or [])
        elif rtype == "AWS::DynamoDB::Table":
            settings.billing_mode = str(props.get("BillingMode", "PROVISIONED"))
            warm = props.get("WarmThroughput") or {}
            for kind, prop in (("write", "WriteUnitsPerSecond"), ("read", "ReadUnitsPerSecond")):
                value = warm.get(prop)
                if value is None:
                    continue
                number = resolve.number(value, f"{lid} WarmThroughput")
                if kind == "write":
                    settings.warm_wcu = number
                else:
                    settings.warm_rcu = number
                if isinstance(value, dict) and "Ref" in value:
                    settings.warm_source[kind] = f"parameter {value['Ref']}"
            settings.warm_source.setdefault("write", f"{lid} WarmThroughput write")
            settings.warm_source.setdefault("read", f"{lid} WarmThroughput read")
        elif rtype == "AWS::Serverless::Function":
            _read_function(lid, props, resolve, settings)
    _effective_throttles(settings, method_settings, resolve)
    if "RegistryMaxRps" in resolve.values:
        settings.registry_max_rps = resolve.number({"Ref": "RegistryMaxRps"}, "RegistryMaxRps")
    return settings


def _read_function(lid: str, props: Mapping[str, Any], resolve: Resolver, settings: Settings) -> None:
    for event in (props.get("Events") or {}).values():
        eprops = event.get("Properties") or {}
        etype = event.get("Type")
        if etype == "Api":
            settings.routes.append(Route(str(eprops.get("Method", "")).upper(), str(eprops.get("Path", "")), lid))
        elif etype == "SQS":
            cap = (eprops.get("ScalingConfig") or {}).get("MaximumConcurrency")
            source = f"{lid} MaximumConcurrency"
            if isinstance(cap, dict) and "Ref" in cap:
                source = f"parameter {cap['Ref']}"
            settings.workers[lid] = Worker(
                lid,
                resolve.number(cap, source) if cap is not None else None,
                int(resolve.number(eprops.get("BatchSize", 10), f"{lid} BatchSize")),
                source,
            )
        elif etype == "DynamoDB":
            settings.relay_batch_size = int(resolve.number(eprops.get("BatchSize", 100), f"{lid} BatchSize"))


def _effective_throttles(settings: Settings, method_settings: list[dict[str, Any]], resolve: Resolver) -> None:
    """Per route, the most specific MethodSettings entry with throttling (exact path+method, then
    path with '*', then '/*' with the method, then '/*' '*'): each applies per method."""
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in method_settings:
        if "ThrottlingRateLimit" in entry or "ThrottlingBurstLimit" in entry:
            path = str(entry.get("ResourcePath", "/*"))
            by_key[(path if path == "/*" else _decode_resource_path(path), str(entry.get("HttpMethod", "*")))] = entry
    for route in settings.routes:
        for candidate in ((route.path, route.method), (route.path, "*"), ("/*", route.method), ("/*", "*")):
            found = by_key.get(candidate)
            if found is not None:
                settings.throttles[route.key] = Throttle(
                    resolve.number(found.get("ThrottlingRateLimit", -1), "ThrottlingRateLimit"),
                    resolve.number(found.get("ThrottlingBurstLimit", -1), "ThrottlingBurstLimit"),
                    f"{candidate[0]} {candidate[1]}",
                )
                break


# -- the plan ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    peak_per_minute: float
    peak_minutes: float = 15.0
    region: str = DEFAULT_REGION
    headroom: float = 1.5
    ses_max_send_rate: float = 14.0
    kms_symmetric_rps: float = KMS_SYMMETRIC_RPS
    email_wait_target_s: float = 300.0
    nik_wait_target_s: float = 3600.0
    photo_wait_target_s: float = 3600.0
    open_batches: int = 1
    seat_shards: int = 32
    mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    durations_ms: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_DURATIONS_MS))


@dataclass
class Row:
    section: str
    resource: str
    demand: float
    unit: str
    configured: str
    quota: str
    verdict: str
    action: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    peak_per_minute: float
    registrations_per_s: float
    region: str
    rows: list[Row]
    quota_requests: list[str]
    template_changes: list[str]
    assumptions: list[str]

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def round_up(value: float, step: float) -> int:
    return int(math.ceil(value / step - 1e-9) * step) if value > 0 else 0


def needed_rate(demand: float, peak_s: float, target_s: float) -> float:
    """Drain rate that keeps the last arrival of the peak waiting at most `target_s`."""
    return demand * peak_s / (peak_s + target_s) if demand > 0 else 0.0


def backlog(demand: float, rate: float, peak_s: float) -> tuple[float, float]:
    """(messages queued at the end of the peak, seconds to drain them afterwards)."""
    queued = max(0.0, demand - rate) * peak_s
    return queued, (queued / rate if rate > 0 else math.inf)


def _n(value: float) -> str:
    """A figure for the table: thousands separated, at most one decimal."""
    if math.isinf(value):
        return "never"
    return f"{value:,.0f}" if abs(value - round(value)) < 0.05 or abs(value) >= 100 else f"{value:,.1f}"


def _duration(seconds: float) -> str:
    if math.isinf(seconds):
        return "never"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def plan(settings: Settings, opts: Options) -> Plan:  # noqa: C901, PLR0912, PLR0915 - one table, top to bottom
    if opts.peak_per_minute <= 0 or opts.peak_minutes <= 0:
        raise CapacityError("the peak must be positive")
    r = opts.peak_per_minute / 60.0
    peak_s = opts.peak_minutes * 60.0
    seat_reads = float(opts.open_batches * opts.seat_shards)
    costs = route_costs(seat_reads)
    rows: list[Row] = []
    quota_requests: list[str] = []
    template_changes: list[str] = []
    assumptions: list[str] = []
    h = opts.headroom

    def ms(function: str) -> float:
        return float(opts.durations_ms.get(function, UNKNOWN_FUNCTION_MS))

    # ---- API Gateway, per route ----
    route_rps: dict[str, float] = {}
    for route in settings.routes:
        share = opts.mix.get(route.key, UNKNOWN_ROUTE_MIX)
        if route.key not in opts.mix:
            assumptions.append(f"{route.key}: not in the mix, assumed {UNKNOWN_ROUTE_MIX} request per registrant")
        route_rps[route.key] = rps = r * share
        throttle = settings.throttles.get(route.key)
        suggest = max(round_up(rps * h, 100), 100) if rps > 0 else 0
        if throttle is None:
            configured, verdict = "none (account only)", OK
        else:
            configured = f"rate {_n(throttle.rate)} / burst {_n(throttle.burst)}"
            verdict = OK if throttle.rate >= rps and throttle.burst >= rps else CHANGE_TEMPLATE
        action = ""
        if verdict == CHANGE_TEMPLATE:
            action = f"MethodSettings {route.key}: rate >= {suggest:,}, burst >= {suggest:,}"
            template_changes.append(action)
        rows.append(
            Row(
                "API Gateway",
                f"route {route.key}",
                rps,
                "rps",
                configured,
                "-",
                verdict,
                action,
                {"suggested_rate": suggest, "throttle_source": throttle.source if throttle else None},
            )
        )
    total_rps = sum(route_rps.values())
    low = opts.region in APIGW_LOW_REGIONS
    account_rps, account_burst = (APIGW_LOW_RPS, APIGW_LOW_BURST) if low else (APIGW_ACCOUNT_RPS, APIGW_ACCOUNT_BURST)
    stage_ceiling = sum(settings.throttles[k].rate for k in route_rps if k in settings.throttles and route_rps[k] > 0)
    want = round_up(max(total_rps * h, stage_ceiling), 1000)
    verdict = OK if account_rps >= total_rps else RAISE_QUOTA
    action = ""
    if verdict == RAISE_QUOTA:
        action = f"API Gateway throttle quota in {opts.region}: {account_rps:,} -> {want:,} rps (L-8A5B8E43)"
        quota_requests.append(action + "; the burst bucket is set by AWS from it")
    rows.append(
        Row(
            "API Gateway",
            f"account throttle ({opts.region})",
            total_rps,
            "rps",
            f"routes allow {_n(stage_ceiling)} rps",
            f"{account_rps:,} rps / burst {account_burst:,}",
            verdict,
            action,
            {"quota_rps": account_rps, "quota_burst": account_burst, "stage_ceiling_rps": stage_ceiling},
        )
    )

    # ---- DynamoDB units (computed first: the relay's concurrency follows the table's partitions) ----
    wcu: dict[str, float] = {}
    rcu: dict[str, float] = {}
    for route in settings.routes:
        cost = costs.get(route.key, UNKNOWN_ROUTE_COST)
        wcu[f"route {route.key}"] = route_rps[route.key] * cost.wcu
        rcu[f"route {route.key}"] = route_rps[route.key] * cost.rcu

    # ---- queues: email and NIK, with their backlogs ----
    # Emails: a code per registration and per resend (the NIK result notices leave at the registry's
    # pace, far below these).
    emails_demand = route_rps.get("POST /registrations", 0.0) + route_rps.get(
        "POST /registrations/{id}/email-verification/resend", 0.0
    )
    email_needed = needed_rate(emails_demand, peak_s, opts.email_wait_target_s)
    email_worker = settings.workers.get("SendEmailFunction")
    email_ms = ms("SendEmailFunction")
    email_conc = email_worker.max_concurrency if email_worker and email_worker.max_concurrency else 0.0
    sender_rate = email_conc * 1000.0 / email_ms
    email_rate = min(sender_rate, opts.ses_max_send_rate)
    nik_demand = route_rps.get("POST /registrations/{id}/nik", 0.0)
    nik_needed = needed_rate(nik_demand, peak_s, opts.nik_wait_target_s)
    nik_worker = settings.workers.get("CheckNikFunction")
    nik_ms = ms("CheckNikFunction")
    nik_conc = nik_worker.max_concurrency if nik_worker and nik_worker.max_concurrency else 0.0
    nik_worker_rate = nik_conc * 1000.0 / nik_ms
    registry_rate = min(settings.registry_max_rps, nik_worker_rate)
    photo_demand = route_rps.get("POST /registrations/{id}/photo", 0.0)
    photo_worker = settings.workers.get("InspectPhotoFunction")
    photo_ms = ms("InspectPhotoFunction")
    photo_conc = photo_worker.max_concurrency if photo_worker and photo_worker.max_concurrency else 0.0
    photo_needed = needed_rate(photo_demand, peak_s, opts.photo_wait_target_s)
    photo_rate = min(photo_demand, photo_conc * 1000.0 / photo_ms)

    wcu["worker SendEmailFunction"] = min(emails_demand, email_rate) * SEND_EMAIL_COST.wcu
    rcu["worker SendEmailFunction"] = min(emails_demand, email_rate) * SEND_EMAIL_COST.rcu
    nik_calls = min(nik_demand, registry_rate)
    wcu["worker CheckNikFunction"] = nik_calls * CHECK_NIK_COST.wcu
    rcu["worker CheckNikFunction"] = nik_calls * CHECK_NIK_COST.rcu
    wcu["worker InspectPhotoFunction"] = photo_rate * INSPECT_PHOTO_COST.wcu
    # Funnel: one SEEN# marker per counted step (2 WCU, transactional) + one FUNNEL shard update
    # per transaction of <= 90 records.
    steps = {
        "registered": route_rps.get("POST /registrations", 0.0),
        "email_verified": min(
            route_rps.get("POST /registrations", 0.0), route_rps.get("POST /registrations/{id}/email-verification", 0.0)
        ),
        "nik_verified": nik_calls,
        "photo_accepted": photo_rate,
        "joined": min(route_rps.get("POST /registrations/{id}/batch", 0.0), route_rps.get("POST /registrations", 0.0)),
    }
    increments = sum(steps.values())
    funnel_tx = increments / min(FUNNEL_CHUNK, settings.relay_batch_size) if increments else 0.0
    wcu["worker OutboxRelayFunction (funnel)"] = increments * 2 + funnel_tx * 2

    total_wcu = sum(wcu.values())
    total_rcu = sum(rcu.values())
    partitions = max(1, math.ceil(max(total_wcu / DDB_PARTITION_WCU, total_rcu / DDB_PARTITION_RCU)))

    # ---- Lambda concurrency ----
    concurrency: dict[str, tuple[float, str]] = {}
    for route in settings.routes:
        c = route_rps[route.key] * ms(route.function) / 1000.0
        prev = concurrency.get(route.function, (0.0, ""))[0]
        concurrency[route.function] = (prev + c, f"{_n(route_rps[route.key])} rps x {_n(ms(route.function))} ms")
    for fn, (conc, how) in concurrency.items():
        steps_needed = max(0, math.ceil(conc / LAMBDA_SCALING_STEP) - 1)
        ramp = steps_needed * LAMBDA_SCALING_PERIOD_S
        verdict = OK if ramp == 0 else CHANGE_TEMPLATE
        action = ""
        if verdict == CHANGE_TEMPLATE:
            action = f"{fn}: provisioned concurrency on the live alias (reaching {_n(conc)} takes {ramp} s)"
            template_changes.append(action)
        rows.append(
            Row(
                "Lambda",
                f"{fn} concurrency",
                conc,
                "concurrent",
                f"unreserved ({how})",
                f"+{LAMBDA_SCALING_STEP:,} per {LAMBDA_SCALING_PERIOD_S} s per function",
                verdict,
                action,
                {"ramp_s": ramp},
            )
        )
    worker_rows = (
        ("SendEmailFunction", email_worker, email_needed, email_ms, "emails/s"),
        ("CheckNikFunction", nik_worker, min(nik_needed, settings.registry_max_rps) or nik_needed, nik_ms, "checks/s"),
        ("InspectPhotoFunction", photo_worker, photo_needed, photo_ms, "photos/s"),
    )
    worker_total = 0.0
    for fn, worker, rate_wanted, per_ms, unit in worker_rows:
        if worker is None:
            continue
        need = rate_wanted * per_ms / 1000.0
        cap = worker.max_concurrency
        worker_total += max(cap, need) if cap is not None else need  # the plan: caps raised where needed
        verdict = OK if cap is None or cap >= need else CHANGE_TEMPLATE
        want_cap = max(2, math.ceil(need * h))
        action = ""
        if verdict == CHANGE_TEMPLATE:
            action = f"{worker.source} >= {want_cap} ({_n(rate_wanted)} {unit} x {_n(per_ms)} ms)"
            template_changes.append(action)
        rows.append(
            Row(
                "Lambda",
                f"{fn} concurrency",
                need,
                "concurrent",
                f"max {_n(cap)} ({worker.source})" if cap is not None else "uncapped",
                f"+{LAMBDA_SCALING_STEP:,} per {LAMBDA_SCALING_PERIOD_S} s per function",
                verdict,
                action,
                {"suggested_max_concurrency": want_cap},
            )
        )
    relay_conc = float(partitions)  # one concurrent batch per stream shard, ~ one shard per partition
    account_conc = sum(c for c, _ in concurrency.values()) + worker_total + relay_conc
    want_conc = round_up(account_conc * h, 1000)
    verdict = OK if account_conc <= LAMBDA_ACCOUNT_CONCURRENCY else RAISE_QUOTA
    action = ""
    if verdict == RAISE_QUOTA:
        action = f"Lambda concurrent executions in {opts.region}: {LAMBDA_ACCOUNT_CONCURRENCY:,} -> {want_conc:,}"
        quota_requests.append(action + " (L-B99A9384)")
    rows.append(
        Row(
            "Lambda",
            "account concurrency (all functions)",
            account_conc,
            "concurrent",
            f"API sum + workers (sized) + ~{partitions} relay",
            f"{LAMBDA_ACCOUNT_CONCURRENCY:,}",
            verdict,
            action,
            {"relay_concurrency_estimate": relay_conc},
        )
    )

    # ---- DynamoDB: per route and worker, then the table, then shared keys ----
    for name, units in wcu.items():
        cost = (
            costs.get(name.removeprefix("route "), UNKNOWN_ROUTE_COST)
            if name.startswith("route ")
            else {
                "worker SendEmailFunction": SEND_EMAIL_COST,
                "worker CheckNikFunction": CHECK_NIK_COST,
                "worker InspectPhotoFunction": INSPECT_PHOTO_COST,
            }.get(name, Cost(2, 0, f"SEEN# marker per counted step (2) + FUNNEL update per {FUNNEL_CHUNK} (2)"))
        )
        if units == 0 and rcu.get(name, 0) == 0:
            continue
        rows.append(
            Row(
                "DynamoDB",
                f"units {name}",
                units,
                f"WCU/s + {_n(rcu.get(name, 0.0))} RCU/s",
                f"{_n(cost.wcu)} WCU + {_n(cost.rcu)} RCU per call",
                "(table)",
                OK,
                "",
                {"rcu_per_s": rcu.get(name, 0.0), "model": cost.why},
            )
        )
    on_demand = settings.billing_mode == "PAY_PER_REQUEST"
    for kind, demand, warm, new, table_max in (
        ("write", total_wcu, settings.warm_wcu, DDB_NEW_ON_DEMAND_WRU, DDB_TABLE_MAX_WRU),
        ("read", total_rcu, settings.warm_rcu, DDB_NEW_ON_DEMAND_RRU, DDB_TABLE_MAX_RRU),
    ):
        unit = "WRU/s" if kind == "write" else "RRU/s"
        available = warm if warm is not None else float(new if on_demand else 0)
        actions = []
        verdict = OK
        want = round_up(demand * h, 1000)
        if want > table_max:  # the peak, with headroom, needs more than one table may take by default
            quota_requests.append(
                f"DynamoDB on-demand table-level {kind} throughput: {table_max:,} -> {want:,} {unit} (per table)"
            )
            actions.append(f"table max {table_max:,} -> {want:,}")
            if demand > table_max:
                verdict = RAISE_QUOTA
        if available < demand:
            verdict = CHANGE_TEMPLATE if verdict == OK else verdict
            # Warm throughput above the table maximum waits for the quota increase.
            warm_to = want if demand > table_max else min(want, table_max)
            where = settings.warm_source.get(kind, f"RegistrationsTable WarmThroughput {kind}")
            change = f"{where} >= {warm_to:,} {unit}"
            template_changes.append(change)
            actions.append(change)
        elif want > table_max:
            where = settings.warm_source.get(kind, f"WarmThroughput {kind}")
            actions.append(f"after the increase: {where} {want:,}")
        configured = f"WarmThroughput {_n(warm)}" if warm is not None else f"none: a new table starts at {new:,}"
        rows.append(
            Row(
                "DynamoDB",
                f"table {kind}s (on-demand)" if on_demand else f"table {kind}s",
                demand,
                unit,
                configured,
                f"{new:,} new; max {table_max:,}/table",
                verdict,
                "; ".join(actions),
                {"warm": warm, "suggested_warm": want},
            )
        )
    # Shared keys: every item several registrants write. The registry keys at the full RegistryMaxRps
    # (what the workers reach once their concurrency is sized to it).
    registry_calls = min(nik_demand, settings.registry_max_rps)
    list_rps = route_rps.get("GET /batches", 0.0)
    join_rps = route_rps.get("POST /registrations/{id}/batch", 0.0)
    shared: list[tuple[str, float, float, str]] = [
        ("FUNNEL (16 shards share one pk)", funnel_tx * 2, 0.0, "relay transactions x 2 WCU"),
        ("BREAKER#registry", 0.0, registry_calls * 2, "2 consistent reads per registry call"),
        ("RATE#registry#<second>", registry_calls, 0.0, "1 UpdateItem per registry call (RegistryMaxRps caps it)"),
        ("BATCHES (catalogue)", 0.0, list_rps * 0.5, "1 Query per GET /batches (join: cached)"),
        (
            "SEAT#<batch>#<k>",
            2 * join_rps / (opts.open_batches * opts.seat_shards),
            0.5 * list_rps + 0.5 * join_rps / opts.open_batches,
            f"joins spread over {opts.seat_shards} shards; every list/join reads every shard",
        ),
    ]
    # A registry rate near the slot key's limit is a property of the template's RegistryMaxRps.
    slot_limit_rps = settings.registry_max_rps
    for name, w, rd, why in shared:
        share_w = w / DDB_PARTITION_WCU
        share_r = rd / DDB_PARTITION_RCU
        verdict = OK if max(share_w, share_r) <= 1 else CHANGE_TEMPLATE
        action = ""
        if name.startswith("RATE#") and slot_limit_rps > DDB_PARTITION_WCU:
            verdict = CHANGE_TEMPLATE
            action = f"RegistryMaxRps {slot_limit_rps:,.0f} > {DDB_PARTITION_WCU:,}: shard the pacing slot key"
        elif verdict == CHANGE_TEMPLATE:
            action = f"{name}: spread the key ({why})"
        if action:
            template_changes.append(action)
        rows.append(
            Row(
                "DynamoDB",
                f"key {name}",
                w if w >= rd / 3 else rd,
                "WCU/s" if w >= rd / 3 else "RCU/s",
                f"{_n(w)} WCU/s + {_n(rd)} RCU/s",
                f"{DDB_PARTITION_WCU:,} WCU / {DDB_PARTITION_RCU:,} RCU per partition",
                verdict,
                action,
                {"wcu_per_s": w, "rcu_per_s": rd, "model": why},
            )
        )

    # ---- SES and the email backlog ----
    ses_verdict = OK if opts.ses_max_send_rate >= email_needed else RAISE_QUOTA
    action = ""
    if ses_verdict == RAISE_QUOTA:
        want_ses = round_up(email_needed * h, 50)
        action = f"SES sending rate in {opts.region}: {_n(opts.ses_max_send_rate)} -> {want_ses:,} emails/s"
        quota_requests.append(action + " (and production access, out of the sandbox)")
    rows.append(
        Row(
            "SES",
            "sending rate (account)",
            emails_demand,
            "emails/s",
            "-",
            f"{_n(opts.ses_max_send_rate)}/s (--ses-max-send-rate)",
            ses_verdict,
            action,
            {"needed_rate": email_needed},
        )
    )
    sender_verdict = OK if sender_rate >= email_needed else CHANGE_TEMPLATE
    rows.append(
        Row(
            "SES",
            "email sender throughput",
            email_needed,
            "emails/s",
            f"{_n(email_conc)} x 1000/{_n(email_ms)} ms = {_n(sender_rate)}/s (EmailSenderConcurrency)",
            "-",
            sender_verdict,
            f"EmailSenderConcurrency >= {math.ceil(email_needed * email_ms / 1000.0 * h)}"
            if sender_verdict != OK
            else "",
        )
    )
    queued, drain = backlog(emails_demand, email_rate, peak_s)
    wait_ok = drain <= opts.email_wait_target_s
    rows.append(
        Row(
            "SES",
            f"email backlog after {_n(opts.peak_minutes)} min",
            queued,
            "emails",
            f"drains at {_n(email_rate)}/s in {_duration(drain)}",
            f"target wait {_duration(opts.email_wait_target_s)}",
            OK if wait_ok else (RAISE_QUOTA if opts.ses_max_send_rate < sender_rate else CHANGE_TEMPLATE),
            "" if wait_ok else f"drain >= {_n(email_needed)} emails/s (SES rate and sender)",
            {"drain_s": drain if not math.isinf(drain) else None},
        )
    )

    # ---- Registry and the NIK backlog ----
    reg_verdict = OK if settings.registry_max_rps >= nik_needed else RAISE_QUOTA
    action = ""
    if reg_verdict == RAISE_QUOTA:
        want_reg = round_up(nik_needed * h, 10)
        action = f"population registry: agree >= {want_reg:,} calls/s, then RegistryMaxRps={want_reg}"
        quota_requests.append(action)
    rows.append(
        Row(
            "Registry",
            "registry rate (RegistryMaxRps)",
            nik_needed,
            "calls/s",
            f"{_n(settings.registry_max_rps)}/s",
            "agreed with the registry",
            reg_verdict,
            action,
            {"nik_submissions_per_s": nik_demand},
        )
    )
    worker_ok = nik_worker_rate >= settings.registry_max_rps
    rows.append(
        Row(
            "Registry",
            "NIK check throughput",
            settings.registry_max_rps,
            "calls/s",
            f"{_n(nik_conc)} x 1000/{_n(nik_ms)} ms = {_n(nik_worker_rate)}/s (NikCheckConcurrency)",
            "-",
            OK if worker_ok else CHANGE_TEMPLATE,
            "" if worker_ok else "raise NikCheckConcurrency (Lambda CheckNikFunction row)",
        )
    )
    queued, drain = backlog(nik_demand, registry_rate, peak_s)
    wait_ok = drain <= opts.nik_wait_target_s
    rows.append(
        Row(
            "Registry",
            f"NIK backlog after {_n(opts.peak_minutes)} min",
            queued,
            "checks",
            f"drains at {_n(registry_rate)}/s in {_duration(drain)}",
            f"target wait {_duration(opts.nik_wait_target_s)}",
            OK if wait_ok else RAISE_QUOTA,
            "" if wait_ok else f"drain >= {_n(nik_needed)} checks/s",
            {"drain_s": drain if not math.isinf(drain) else None},
        )
    )

    # ---- KMS (the NIK's fingerprint and ciphertext) ----
    kms_demand = KMS_CALLS_PER_NIK_SUBMISSION * nik_demand + KMS_CALLS_PER_NIK_CHECK * registry_rate
    kms_ok = opts.kms_symmetric_rps >= kms_demand * h
    action = ""
    if not kms_ok:
        want_kms = round_up(kms_demand * h, 500)
        action = (
            f"KMS cryptographic operations (symmetric) request rate in {opts.region}: "
            f"{_n(opts.kms_symmetric_rps)} -> {want_kms:,} rps"
        )
        quota_requests.append(action)
    rows.append(
        Row(
            "KMS",
            "symmetric + HMAC requests (account)",
            kms_demand,
            "rps",
            f"{KMS_CALLS_PER_NIK_SUBMISSION} per NIK submission + {KMS_CALLS_PER_NIK_CHECK} per check",
            f"{_n(opts.kms_symmetric_rps)}/s shared (--kms-rate)",
            OK if kms_ok else RAISE_QUOTA,
            action,
            {"nik_submissions_per_s": nik_demand, "checks_per_s": registry_rate},
        )
    )

    assumptions[:0] = [
        f"peak: {opts.peak_per_minute:,.0f} registrations/min = {_n(r)}/s, sustained {_n(opts.peak_minutes)} min",
        "mix (requests per registrant): " + ", ".join(f"{k} {v:g}" for k, v in opts.mix.items() if k in route_rps),
        "p99 ms: " + ", ".join(f"{k} {v:g}" for k, v in opts.durations_ms.items()),
        f"headroom x{h:g} on suggested settings; items <= 1 KB written / 4 KB read; "
        f"{opts.open_batches} open batch(es) x {opts.seat_shards} seat shards",
        f"emails per registrant: 1 code + resends; SES max send rate {_n(opts.ses_max_send_rate)}/s "
        "(sandbox: 1/s; production: per account, `aws sesv2 get-account`)",
        f"relay concurrency ~ stream shards ~ table partitions ({partitions}); funnel steps counted "
        f"{_n(increments)}/s in transactions of <= {FUNNEL_CHUNK}",
    ]
    return Plan(opts.peak_per_minute, r, opts.region, rows, quota_requests, template_changes, assumptions)


# -- output ---------------------------------------------------------------------------------------------
HEADERS = ("SECTION", "RESOURCE", "DEMAND AT PEAK", "TEMPLATE", "DEFAULT QUOTA", "VERDICT")


def table_rows(p: Plan) -> list[list[str]]:
    return [[r.section, r.resource, f"{_n(r.demand)} {r.unit}", r.configured, r.quota, r.verdict] for r in p.rows]


def render(p: Plan) -> str:
    from infra.cli import render_table

    lines = [
        f"Capacity plan: {p.peak_per_minute:,.0f} registrations/min ({_n(p.registrations_per_s)}/s), region {p.region}",
        "",
        render_table(HEADERS, table_rows(p), right=(2,)),
        "",
        "Quota increases to request before launch:",
    ]
    lines += [f"  - {q}" for q in p.quota_requests] or ["  (none)"]
    lines += ["", "Template changes:"]
    lines += [f"  - {c}" for c in p.template_changes] or ["  (none)"]
    lines += ["", "Assumptions:"]
    lines += [f"  - {a}" for a in p.assumptions]
    return "\n".join(lines)


# -- CLI ------------------------------------------------------------------------------------------------
def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return value


def _parameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected Name=Value, got {text!r}")
    return name, value


def _number_map(path: str, what: str) -> dict[str, float]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CapacityError(f"cannot read {what} file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CapacityError(f"{what} file {path} is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise CapacityError(f"{what} file {path}: expected a JSON object")
    out: dict[str, float] = {}
    for key, value in doc.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or math.isinf(value):
            raise CapacityError(f"{what} file {path}: {key!r} must be a number >= 0")
        out[str(key)] = float(value)
    return out


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The `capacity` subcommand (hooked into infra.cli.build_parser)."""
    p = sub.add_parser(
        "capacity",
        parents=[common],
        help="capacity plan for a registration peak, from template.yaml (no AWS calls)",
        description="Demand at the peak vs the template's settings and the default AWS quotas, per resource.",
    )
    p.add_argument("--peak-per-minute", type=_positive_float, default=80_000.0, help="registrations a minute (80000)")
    p.add_argument("--peak-minutes", type=_positive_float, default=15.0, help="how long the peak lasts (15)")
    p.add_argument("--template", default=str(DEFAULT_TEMPLATE), help="template path (the repository's template.yaml)")
    p.add_argument("--durations", help="JSON file: {function logical id: p99 ms}, merged over the defaults")
    p.add_argument("--mix", help='JSON file: {"METHOD /path": requests per registrant}, merged over the defaults')
    p.add_argument(
        "--parameter", action="append", type=_parameter, default=[], help="template parameter override Name=Value"
    )
    p.add_argument("--headroom", type=_positive_float, default=1.5, help="factor on suggested settings (1.5)")
    p.add_argument("--ses-max-send-rate", type=_positive_float, default=14.0, help="the account's SES MaxSendRate (14)")
    p.add_argument(
        "--kms-rate",
        type=_positive_float,
        default=KMS_SYMMETRIC_RPS,
        help=f"the account's KMS cryptographic operations (symmetric) request rate ({KMS_SYMMETRIC_RPS:g})",
    )
    p.add_argument("--email-wait-target-s", type=_positive_float, default=300.0, help="longest email wait (300)")
    p.add_argument("--nik-wait-target-s", type=_positive_float, default=3600.0, help="longest NIK check wait (3600)")
    p.add_argument(
        "--photo-wait-target-s", type=_positive_float, default=3600.0, help="longest photo inspection wait (3600)"
    )
    p.add_argument("--open-batches", type=int, default=1, help="batches open at the peak (1)")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(run=cmd_capacity)


def options_from_args(args: argparse.Namespace) -> Options:
    from prakerja.domain.batch import MAX_SHARDS

    if args.open_batches < 1:
        raise CapacityError("--open-batches must be >= 1")
    mix = dict(DEFAULT_MIX)
    if args.mix:
        mix.update(_number_map(args.mix, "mix"))
    durations = dict(DEFAULT_DURATIONS_MS)
    if args.durations:
        durations.update({k: v for k, v in _number_map(args.durations, "durations").items() if v > 0})
    return Options(
        peak_per_minute=args.peak_per_minute,
        peak_minutes=args.peak_minutes,
        region=getattr(args, "region", None) or DEFAULT_REGION,
        headroom=args.headroom,
        ses_max_send_rate=args.ses_max_send_rate,
        kms_symmetric_rps=args.kms_rate,
        email_wait_target_s=args.email_wait_target_s,
        nik_wait_target_s=args.nik_wait_target_s,
        photo_wait_target_s=args.photo_wait_target_s,
        open_batches=args.open_batches,
        seat_shards=MAX_SHARDS,
        mix=mix,
        durations_ms=durations,
    )


def cmd_capacity(target: Any, args: argparse.Namespace) -> int:
    """Runs without AWS: `target` (the CLI's AWS target) is not used."""
    from infra.cli import CliError

    try:
        opts = options_from_args(args)
        settings = read_settings(Path(args.template), dict(args.parameter))
        result = plan(settings, opts)
    except CapacityError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        sys.stdout.write(json.dumps(result.as_json(), indent=2, default=_json_default) + "\n")
    else:
        sys.stdout.write(render(result) + "\n")
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and math.isinf(value):
        return None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def main(argv: Sequence[str] | None = None) -> int:
    from infra.cli import main as cli_main

    return cli_main(["capacity", *(argv or [])])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
