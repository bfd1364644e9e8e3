"""The local gateway's per-route throttles (token buckets from the Api's MethodSettings) and
per-client rate rules (sliding windows from ApiWebAcl.Metadata.RateLimits): 429 problem+json
with Retry-After, like API Gateway / WAF; off with PRAKERJA_LOCAL_LIMITS=off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.local.apigw import HttpRequest, RouteTable
from infra.local.events import ApiRoute
from infra.local.gateway import Gateway
from infra.local.intrinsics import Resolver
from infra.local.limits import Limits, RateRule, client_address, enabled, resource_path, throttles_of
from infra.local.overrides import parameter_values
from infra.local.provision import ResourceValues
from infra.local.stack import local_limits
from infra.local.template import load_template

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_route_bucket_allows_its_burst_then_its_rate_for_everyone() -> None:
    clock = Clock()
    limits = Limits({("POST", "/sessions"): (2.0, 3), ("*", "/*"): (100.0, 100)}, [], clock=clock)
    answers = [limits.check("POST", "/sessions", f"10.0.0.{i}") for i in range(4)]  # any client
    assert answers[:3] == [None, None, None]
    refused = answers[3]
    assert refused is not None and refused.status == 429
    assert refused.header("Retry-After") == "1" and refused.header("Content-Type") == "application/problem+json"
    assert json.loads(refused.body)["type"] == "throttled"
    clock.t += 0.5  # 2 per second: one more token
    assert limits.check("POST", "/sessions", "10.0.0.9") is None
    assert limits.check("POST", "/sessions", "10.0.0.9") is not None
    assert limits.check("GET", "/health", "10.0.0.9") is None  # other routes: the stage default


def test_a_rate_rule_counts_per_client_in_a_sliding_window_with_retry_after() -> None:
    clock = Clock()
    rule = RateRule("rate-sign-in", "POST", "/sessions", limit=3, window_s=300)
    limits = Limits({}, [rule], clock=clock)
    for i in range(3):
        clock.t += 10
        assert limits.check("POST", "/sessions", "198.51.100.7") is None, i
    clock.t += 10
    refused = limits.check("POST", "/sessions", "198.51.100.7")
    assert refused is not None and refused.status == 429
    assert refused.header("Retry-After") == str(300 - 30)  # until the first request leaves the window
    assert "network address" in json.loads(refused.body)["detail"]
    assert limits.check("POST", "/sessions", "198.51.100.8") is None  # another client
    assert limits.check("GET", "/sessions", "198.51.100.7") is None  # another method: not this rule
    clock.t += 271  # the first request has left the window
    assert limits.check("POST", "/sessions", "198.51.100.7") is None
    assert limits.check("POST", "/sessions", "198.51.100.7") is not None


def test_forwarded_for_is_trusted_only_when_switched_on() -> None:
    headers = [("X-Forwarded-For", "203.0.113.5, 10.0.0.1")]
    assert client_address("127.0.0.1", headers, trust_xff=False) == "127.0.0.1"
    assert client_address("127.0.0.1", headers, trust_xff=True) == "203.0.113.5"
    assert enabled({}) and not enabled({"PRAKERJA_LOCAL_LIMITS": "off"})
    with pytest.raises(ValueError, match="PRAKERJA_LOCAL_LIMITS"):
        enabled({"PRAKERJA_LOCAL_LIMITS": "maybe"})


def test_the_limits_come_from_the_template() -> None:
    assert resource_path("/~1registrations~1{id}~1email-verification~1resend") == (
        "/registrations/{id}/email-verification/resend"
    )
    assert throttles_of(
        [{"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 9}]
    )
    template = load_template(ROOT / "template.yaml")
    values = ResourceValues(template, "ap-southeast-3", 5999)
    resolver = Resolver(template, parameter_values(template.parameters, 3100), values.lookup, region="ap-southeast-3")
    limits = local_limits(template, resolver)
    rules = {(r.method, r.path): (r.limit, r.window_s) for r in limits.rules}
    defaults = template.parameters
    window = int(defaults["RateLimitWindowSeconds"]["Default"])
    assert rules[("POST", "/registrations")] == (int(defaults["RegistrationRateLimit"]["Default"]), window)
    assert rules[("POST", "/sessions")] == (int(defaults["SignInRateLimit"]["Default"]), window)
    assert rules[("POST", "/registrations/{id}/email-verification/resend")][0] == int(
        defaults["EmailSendRateLimit"]["Default"]
    )
    buckets = limits._buckets  # the stage throttles, per route
    assert buckets[("POST", "/registrations/{id}/email-verification/resend")].burst == 600
    assert ("*", "/*") in buckets


def test_the_gateway_answers_the_429_before_invoking_the_function() -> None:
    calls: list[str] = []

    def invoke(function: str, event: dict) -> dict:  # type: ignore[type-arg]
        calls.append(event["requestContext"]["identity"]["sourceIp"])
        return {"statusCode": 200, "body": "{}"}

    clock = Clock()
    rule = RateRule("rate-sign-in", "POST", "/sessions", limit=2, window_s=60)
    routes = RouteTable([ApiRoute("CreateSessionFunction", "/sessions", "POST")])
    gateway = Gateway(routes, invoke, {}, lambda _to: [], limits=Limits({}, [rule], clock=clock), trust_xff=True)

    def post(ip: str) -> int:
        request = HttpRequest("POST", "/sessions", "", [("X-Forwarded-For", ip)], b"{}", source_ip="127.0.0.1")
        response, resource = gateway.handle(request)
        assert resource == "/sessions"
        return response.status

    assert [post("192.0.2.1") for _ in range(3)] == [200, 200, 429]
    assert post("192.0.2.2") == 200
    assert len(calls) == 3  # the refused request never reached the function
