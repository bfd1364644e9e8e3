"""Each function's EMF metrics carry only its own metrics, even with every function in one process
(the local stack), and even when one function's invocation runs while another's is in flight."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from prakerja.http.api import ApiFunction, json_response
from prakerja.observability import NAMESPACE, observability
from tests.conftest import FakeContext, api_event


def emf_lines(out: str) -> list[dict[str, Any]]:
    return [doc for doc in map(json.loads, filter(None, out.splitlines())) if "_aws" in doc]


def metric_names(doc: dict[str, Any]) -> set[str]:
    return {m["Name"] for directive in doc["_aws"]["CloudWatchMetrics"] for m in directive["Metrics"]}


def test_two_functions_in_one_process_publish_only_their_own_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    # Given two API functions in one process, as the local stack runs them
    sender = ApiFunction("obs_send_email")
    verifier = ApiFunction("obs_verify_email")

    @verifier.route("POST", "/verify")
    def verify() -> Any:
        verifier.metrics.add_metric(name="EmailVerified", unit=MetricUnit.Count, value=1)
        return json_response(200, {})

    @sender.route("POST", "/send")
    def send() -> Any:
        sender.metrics.add_metric(name="EmailSent", unit=MetricUnit.Count, value=1)
        # When the other function is invoked (and flushes) while this invocation is in flight
        assert verifier.handler(api_event("POST", "/verify", "/verify"), FakeContext())["statusCode"] == 200
        sender.metrics.add_metric(name="EmailRejected", unit=MetricUnit.Count, value=1)
        return json_response(200, {})

    assert sender.handler(api_event("POST", "/send", "/send"), FakeContext())["statusCode"] == 200

    # Then each EMF line names its own service and carries only that function's metrics
    lines = emf_lines(capsys.readouterr().out)
    by_service = {doc["service"]: doc for doc in lines}
    assert len(lines) == 2 and set(by_service) == {"obs_send_email", "obs_verify_email"}
    assert metric_names(by_service["obs_verify_email"]) == {"EmailVerified"}
    assert metric_names(by_service["obs_send_email"]) == {"EmailSent", "EmailRejected"}
    assert "EmailSent" not in by_service["obs_verify_email"]
    assert all(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == NAMESPACE for doc in lines)


def test_a_function_that_added_nothing_publishes_nothing_of_another(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a function with a pending metric and another that adds none
    _, busy_metrics, _ = observability("obs_busy")
    _, idle_metrics, _ = observability("obs_idle")
    busy_metrics.add_metric(name="Relayed", unit=MetricUnit.Count, value=3)

    @idle_metrics.log_metrics
    def idle_handler(event: dict[str, Any], context: Any) -> str:
        return "ok"

    # When the idle one's invocation ends
    idle_handler({}, FakeContext())

    # Then no EMF line is printed for it (the other's metric is not published under its name)
    assert emf_lines(capsys.readouterr().out) == []
    # and the busy function still publishes its own metric at its next flush
    busy_metrics.flush_metrics()
    (line,) = emf_lines(capsys.readouterr().out)
    assert line["service"] == "obs_busy" and metric_names(line) == {"Relayed"} and line["Relayed"] == [3.0]
