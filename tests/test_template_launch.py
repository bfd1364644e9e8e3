"""Launch-day shape of template.yaml: canary deploys of the API functions guarded by alarms that
exist, and a pre-warmed table. (No network: the template is parsed with the local stack's loader.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.local.template import load_yaml

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(TEMPLATE.read_text(encoding="utf-8"))
    return loaded


def functions(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lid: r["Properties"] for lid, r in doc["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def is_api_function(props: dict[str, Any]) -> bool:
    return any(e.get("Type") == "Api" for e in (props.get("Events") or {}).values())


def test_api_functions_deploy_through_a_canary_rolled_back_by_existing_alarms(doc: dict[str, Any]) -> None:
    resources = doc["Resources"]
    api = {lid: p for lid, p in functions(doc).items() if is_api_function(p)}
    assert len(api) >= 10
    for lid, props in api.items():
        assert props["AutoPublishAlias"] == "live", lid
        preference = props["DeploymentPreference"]
        assert preference["Type"] == {"Ref": "ApiDeploymentType"}, lid
        alarms = [a["Ref"] for a in preference["Alarms"]]
        assert "Api5xxRateAlarm" in alarms, lid
        for alarm in alarms:
            assert resources[alarm]["Type"] == "AWS::CloudWatch::Alarm", (lid, alarm)
        own = [a for a in alarms if a != "Api5xxRateAlarm"]
        assert own, lid
        dims = {d["Name"]: d["Value"] for d in resources[own[0]]["Properties"]["Dimensions"]}
        assert dims["FunctionName"] == {"Ref": lid}
        assert dims["Resource"] == {"Fn::Sub": f"${{{lid}}}:live"}
        assert resources[own[0]]["Properties"]["Period"] == 60  # caught within the canary
    deployment_type = doc["Parameters"]["ApiDeploymentType"]
    assert deployment_type["Default"].startswith("Canary")
    assert "AllAtOnce" in deployment_type["AllowedValues"]


def test_workers_have_no_alias_or_traffic_shifting(doc: dict[str, Any]) -> None:
    workers = {lid: p for lid, p in functions(doc).items() if not is_api_function(p)}
    assert workers
    for lid, props in workers.items():
        assert "AutoPublishAlias" not in props, lid
        assert "DeploymentPreference" not in props, lid
    assert "AutoPublishAlias" not in doc["Globals"]["Function"]


def test_the_table_is_pre_warmed_through_parameters(doc: dict[str, Any]) -> None:
    warm = doc["Resources"]["RegistrationsTable"]["Properties"]["WarmThroughput"]
    assert warm == {
        "WriteUnitsPerSecond": {"Ref": "TableWarmWriteUnits"},
        "ReadUnitsPerSecond": {"Ref": "TableWarmReadUnits"},
    }
    params = doc["Parameters"]
    # Above what a new on-demand table serves at once (4,000 / 12,000), within the per-table default (40,000).
    assert 4000 < params["TableWarmWriteUnits"]["Default"] <= 40000
    assert 12000 < params["TableWarmReadUnits"]["Default"] <= 40000
    assert params["TableWarmWriteUnits"]["MinValue"] == 4000
    assert params["TableWarmReadUnits"]["MinValue"] == 12000
