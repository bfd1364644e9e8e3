"""Reading template.yaml and resolving intrinsics locally (no network, nothing started)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from infra.local.functions import FunctionSpec, function_specs, layer_paths, merged_environment, module_names
from infra.local.intrinsics import Resolver
from infra.local.names import ACCOUNT_ID, local_resource_names, physical_name
from infra.local.overrides import env_overrides, parameter_values
from infra.local.provision import ResourceValues, generate_secret_string
from infra.local.stack import api_settings
from infra.local.template import Template, TemplateError, dependency_order, load_template, load_yaml, merge_globals

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "template.yaml"
REGION = "ap-southeast-3"
PORT = 5999


def resolver_for(template: Template, registry_port: int = 3100) -> Resolver:
    """Values predicted offline (what the provisioner has not created yet are placeholders)."""
    values = ResourceValues(template, REGION, PORT)
    return Resolver(template, parameter_values(template.parameters, registry_port), values.lookup, region=REGION)


def template_of(text: str, tmp_path: Path) -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return load_template(path)


# -- YAML ----------------------------------------------------------------------------------------------
def test_short_tags_become_their_long_forms():
    doc = load_yaml("""
a: !Ref Thing
b: !GetAtt Queue.Arn
c: !Sub '${AWS::Region}-x'
d: !Sub ['${A}', {A: !Ref Thing}]
e: !If [Cond, !Join ['-', [x, y]], !Ref 'AWS::NoValue']
f: !Not [!Condition Other]
g: !Select [0, !Split [',', 'p,q']]
h: !FindInMap [M, k1, k2]
i: !GetAtt [Table, StreamArn]
""")
    assert doc["a"] == {"Ref": "Thing"}
    assert doc["b"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert doc["c"] == {"Fn::Sub": "${AWS::Region}-x"}
    assert doc["d"] == {"Fn::Sub": ["${A}", {"A": {"Ref": "Thing"}}]}
    assert doc["e"] == {"Fn::If": ["Cond", {"Fn::Join": ["-", ["x", "y"]]}, {"Ref": "AWS::NoValue"}]}
    assert doc["f"] == {"Fn::Not": [{"Condition": "Other"}]}
    assert doc["g"] == {"Fn::Select": [0, {"Fn::Split": [",", "p,q"]}]}
    assert doc["h"] == {"Fn::FindInMap": ["M", "k1", "k2"]}
    assert doc["i"] == {"Fn::GetAtt": ["Table", "StreamArn"]}


def test_an_unknown_tag_is_an_error():
    with pytest.raises(TemplateError, match="!Bogus"):
        load_yaml("a: !Bogus x")


def test_missing_template_is_a_clear_error(tmp_path: Path):
    with pytest.raises(TemplateError, match="cannot read"):
        load_template(tmp_path / "nope.yaml")


# -- SAM Globals ------------------------------------------------------------------------------------------
def test_globals_merge_maps_append_lists_and_let_the_function_win():
    merged = merge_globals(
        {"Timeout": 10, "Layers": [{"Ref": "L1"}], "Environment": {"Variables": {"A": "g", "B": "g"}}},
        {"Timeout": 30, "Layers": [{"Ref": "L2"}], "Environment": {"Variables": {"B": "f", "C": "f"}}},
    )
    assert merged == {
        "Timeout": 30,
        "Layers": [{"Ref": "L1"}, {"Ref": "L2"}],
        "Environment": {"Variables": {"A": "g", "B": "f", "C": "f"}},
    }


def test_an_intrinsic_is_replaced_not_merged():
    assert merge_globals({"Ref": "A"}, {"Fn::GetAtt": ["B", "Arn"]}) == {"Fn::GetAtt": ["B", "Arn"]}


def test_functions_get_globals_when_loaded():
    env = load_template(FIXTURE).resources["EchoFunction"]["Properties"]["Environment"]["Variables"]
    assert env["SEEN_TABLE"] == {"Ref": "SeenTable"} and env["QUEUE_URL"] == {"Ref": "WorkQueue"}


# -- dependency order --------------------------------------------------------------------------------------
def test_resources_are_created_after_what_they_reference():
    template = load_template(FIXTURE)
    order = dependency_order(template.resources)
    assert order.index("WorkDLQ") < order.index("WorkQueue")  # declared after it in the file
    assert order.index("UploadQueue") < order.index("UploadBucket")
    assert order.index("FixtureKey") < order.index("SourceTable") and order.index("FixtureKey") < order.index(
        "FixtureKeyAlias"
    )


def test_a_reference_cycle_is_reported():
    resources = {"A": {"Properties": {"X": {"Ref": "B"}}}, "B": {"DependsOn": "A"}}
    with pytest.raises(TemplateError, match="circular"):
        dependency_order(resources)


# -- parameters and intrinsics -------------------------------------------------------------------------------
def test_local_parameter_values_override_only_what_must_differ():
    definitions = {
        "Stage": {"Default": "v1"},
        "RegistryUrl": {"Default": "https://r.example"},
        "SenderEmail": {"Default": "ops@prakerja.example"},
        "TokenTtlSeconds": {"Default": 3600},
        "Flag": {"Default": False},
    }
    values = parameter_values(definitions, registry_port=3456)
    assert values == {
        "Stage": "local",
        "RegistryUrl": "http://127.0.0.1:3456",
        "SenderEmail": "ops@prakerja.example",
        "TokenTtlSeconds": "3600",
        "Flag": "false",
    }
    assert parameter_values({"SenderEmail": {"Default": ""}}, 1)["SenderEmail"] == "no-reply@prakerja.local"


def test_env_overrides_strip_the_prefix():
    assert env_overrides({"PRAKERJA_LOCAL_TOKEN_TTL_S": "5", "PRAKERJA_PORT": "1", "PRAKERJA_LOCAL_": "x"}) == {
        "TOKEN_TTL_S": "5"
    }


def test_refs_and_getatts_resolve_to_local_names():
    resolver = resolver_for(load_template(FIXTURE))
    url = f"http://127.0.0.1:{PORT}/{ACCOUNT_ID}/prakerja-local-WorkQueue"
    assert resolver.resolve({"Ref": "WorkQueue"}) == url
    assert resolver.resolve({"Fn::GetAtt": ["WorkQueue", "QueueUrl"]}) == url
    assert resolver.resolve({"Fn::GetAtt": ["WorkDLQ", "Arn"]}) == (
        f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:prakerja-local-WorkDLQ"
    )
    assert resolver.resolve({"Ref": "SeenTable"}) == "prakerja-local-SeenTable"
    assert resolver.resolve({"Fn::GetAtt": ["SeenTable", "Arn"]}).endswith(":table/prakerja-local-SeenTable")
    assert resolver.resolve({"Ref": "UploadBucket"}) == "prakerja-local-uploadbucket"
    assert resolver.resolve({"Ref": "Stage"}) == "local"
    assert resolver.resolve({"Ref": "Greeting"}) == "hello"


def test_sub_handles_pseudo_parameters_attributes_variables_and_literals():
    resolver = resolver_for(load_template(FIXTURE))
    assert resolver.resolve({"Fn::Sub": "${AWS::StackName}:${AWS::Region}:${AWS::AccountId}:${AWS::Partition}"}) == (
        f"prakerja-local:{REGION}:{ACCOUNT_ID}:aws"
    )
    assert resolver.resolve({"Fn::Sub": "${SeenTable}/${WorkQueue.QueueName}/${!Stage}"}) == (
        "prakerja-local-SeenTable/prakerja-local-WorkQueue/${Stage}"
    )
    assert resolver.resolve({"Fn::Sub": ["${Name}-${Stage}", {"Name": {"Ref": "Greeting"}}]}) == "hello-local"


def test_conditions_if_and_novalue():
    resolver = resolver_for(load_template(FIXTURE))
    assert resolver.condition("IsFlag") is False and resolver.condition("NotFlag") is True
    value = resolver.resolve(
        {
            "Keep": {"Fn::If": ["IsFlag", "a", "b"]},
            "Gone": {"Fn::If": ["NotFlag", {"Ref": "AWS::NoValue"}, "x"]},
            "List": ["one", {"Ref": "AWS::NoValue"}, "two"],
        }
    )
    assert value == {"Keep": "b", "List": ["one", "two"]}
    assert resolver.included({"Condition": "IsFlag"}) is False
    assert resolver.resolve({"Fn::And": [{"Condition": "NotFlag"}, {"Fn::Or": [{"Condition": "IsFlag"}, True]}]})


def test_string_and_list_functions(tmp_path: Path):
    template = template_of(
        """
Mappings:
  Sizes: {local: {memory: 256}}
Resources:
  Q: {Type: AWS::SQS::Queue}
""",
        tmp_path,
    )
    resolver = resolver_for(template)
    assert resolver.resolve({"Fn::Join": ["-", ["a", {"Ref": "AWS::Region"}, 3]]}) == f"a-{REGION}-3"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]}) == "y"
    assert resolver.resolve({"Fn::FindInMap": ["Sizes", "local", "memory"]}) == 256
    assert resolver.resolve({"Fn::Base64": "hi"}) == "aGk="
    assert resolver.resolve({"Fn::GetAZs": ""}) == [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
    assert resolver.resolve({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}) == ["10.0.0.0/24", "10.0.1.0/24"]


def test_a_reference_to_nothing_is_an_error():
    resolver = resolver_for(load_template(FIXTURE))
    with pytest.raises(TemplateError, match="Missing"):
        resolver.resolve({"Ref": "Missing"})


def test_non_intrinsic_condition_keys_are_left_alone():
    resolver = resolver_for(load_template(FIXTURE))
    statement = {"Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert resolver.resolve(statement) == statement


# -- functions ----------------------------------------------------------------------------------------------
def test_function_specs_resolve_environment_and_code_paths():
    template = load_template(FIXTURE)
    specs = function_specs(template, resolver_for(template, registry_port=4321))
    echo = specs["EchoFunction"]
    assert echo.code_dir == FIXTURE.parent / "functions" / "echo"
    assert (echo.handler, echo.timeout_s, echo.name) == ("app.handler", 5.0, "prakerja-local-EchoFunction")
    assert echo.environment["REGISTRY_URL"] == "http://127.0.0.1:4321"
    assert echo.environment["SENDER_EMAIL"] == "no-reply@prakerja.local"
    assert echo.environment["MODE"] == "off" and "OPTIONAL" not in echo.environment
    assert echo.environment["ROLE_ARN"].startswith("arn:aws:iam:")  # a placeholder for what is not created
    assert layer_paths(template, resolver_for(template)) == [FIXTURE.parent / "layer"]


def test_module_names_are_unique_and_readable():
    def spec(lid: str, code: str) -> FunctionSpec:
        return FunctionSpec(lid, lid, Path(code), "app.handler", 3, 128, {})

    names = module_names([spec("RegisterFunction", "functions/register"), spec("Other", "x/register")])
    assert names["Other"] == "lambda_register_app"
    assert names["RegisterFunction"] == "lambda_register_app_RegisterFunction"


def test_merged_environment_keeps_one_value_and_reports_conflicts(caplog: pytest.LogCaptureFixture):
    def spec(lid: str, env: dict[str, str]) -> FunctionSpec:
        return FunctionSpec(lid, lid, Path("."), "app.handler", 3, 128, env)

    specs = {
        "A": spec("A", {"POWERTOOLS_SERVICE_NAME": "a", "X": "1", "SAME": "s"}),
        "B": spec("B", {"POWERTOOLS_SERVICE_NAME": "b", "X": "2", "SAME": "s"}),
    }
    logging.getLogger("infra.local").propagate = True
    with caplog.at_level(logging.WARNING, logger="infra.local.functions"):
        merged = merged_environment(specs, {"SAME": "override"})
    assert merged == {"POWERTOOLS_SERVICE_NAME": "a", "X": "1", "SAME": "override"}
    conflicts = [r for r in caplog.records if getattr(r, "variable", None)]
    assert [r.variable for r in conflicts] == ["X"]  # type: ignore[attr-defined]


# -- names ----------------------------------------------------------------------------------------------
def test_physical_names_follow_aws_rules():
    assert physical_name("RegistrationsTable") == "prakerja-local-RegistrationsTable"
    assert physical_name("PhotoBucket", "AWS::S3::Bucket") == "prakerja-local-photobucket"
    assert physical_name("Jobs", "AWS::SQS::Queue", fifo=True) == "prakerja-local-Jobs.fifo"
    assert len(physical_name("X" * 200, "AWS::SQS::Queue", fifo=True)) == 80
    assert len(physical_name("B" * 200, "AWS::S3::Bucket")) <= 63


def test_account_id_is_motos_default():
    from moto.core import DEFAULT_ACCOUNT_ID

    assert ACCOUNT_ID == DEFAULT_ACCOUNT_ID


def test_local_resource_names_without_aws():
    names = local_resource_names(FIXTURE, aws_port=4000, region="eu-west-1")
    assert names["WorkQueue"] == {
        "name": "prakerja-local-WorkQueue",
        "url": f"http://127.0.0.1:4000/{ACCOUNT_ID}/prakerja-local-WorkQueue",
        "arn": f"arn:aws:sqs:eu-west-1:{ACCOUNT_ID}:prakerja-local-WorkQueue",
    }
    assert names["SeenTable"]["arn"] == f"arn:aws:dynamodb:eu-west-1:{ACCOUNT_ID}:table/prakerja-local-SeenTable"
    assert names["AppSecret"] == {"name": "prakerja-local-AppSecret"}
    assert "Role" not in names and "FixtureKey" not in names


# -- secrets -----------------------------------------------------------------------------------------------
def test_generated_secrets_are_random_and_honour_the_json_template():
    import json

    plain_a, plain_b = generate_secret_string({}), generate_secret_string({"PasswordLength": 64})
    assert plain_a != plain_b and len(plain_a) >= 48
    doc = json.loads(generate_secret_string({"SecretStringTemplate": '{"user": "app"}', "GenerateStringKey": "pw"}))
    assert doc["user"] == "app" and len(doc["pw"]) >= 48


def test_conditional_resources_are_left_out_of_local_names():
    assert "OnlyWhenFlagged" not in local_resource_names(FIXTURE, aws_port=4000)


def test_api_settings_mirror_the_template(tmp_path: Path):
    template = template_of(
        """
Parameters:
  Stage: {Type: String, Default: v1}
Globals:
  Api:
    Cors: "'https://web.example'"
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
      GatewayResponses:
        DEFAULT_5XX:
          StatusCode: '500'
""",
        tmp_path,
    )
    settings = api_settings(template, resolver_for(template), "local")
    assert settings["Api"].stage == "local" and settings["Api"].error_status == 500
    assert settings["Api"].cors.allow_origin == "https://web.example"
    assert settings[None] == settings["Api"]  # routes without RestApiId use the only API
    bare = template_of("Resources:\n  Q: {Type: AWS::SQS::Queue}\n", tmp_path)
    assert api_settings(bare, resolver_for(bare), "local")[None].error_status == 502
