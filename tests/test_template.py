"""Static checks of template.yaml: the deployed shape the rest of the project relies on.

No network and no AWS: the template is parsed with cfn-lint's YAML decoder (it understands the
short intrinsic tags such as !Ref / !GetAtt / !Sub) and linted in-process.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file
from cfnlint.decode import cfn_yaml

from tests.contract.routes import routes

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = ROOT / "template.yaml"

# logical id -> operation (CodeUri functions/<operation>/), per docs/ARCHITECTURE.md
FUNCTIONS = {
    "RegisterFunction": "register",
    "VerifyEmailFunction": "verify_email",
    "ResendCodeFunction": "resend_code",
    "CreateSessionFunction": "create_session",
    "GetRegistrationFunction": "get_registration",
    "HealthFunction": "health",
    "VerifyNikFunction": "verify_nik",
    "UploadPhotoFunction": "upload_photo",
    "ListBatchesFunction": "list_batches",
    "JoinBatchFunction": "join_batch",
    "RequestPasswordResetFunction": "request_password_reset",
    "ConfirmPasswordResetFunction": "confirm_password_reset",
    "DeleteSessionFunction": "delete_session",
    "GetPersonalDataFunction": "get_personal_data",
    "DeleteRegistrationFunction": "delete_registration",
    "OutboxRelayFunction": "outbox_relay",
    "SendEmailFunction": "send_email",
    "CheckNikFunction": "check_nik",
    "InspectPhotoFunction": "inspect_photo",
    "GetStatusFunction": "get_status",
    "HandleEmailEventFunction": "handle_email_event",
}

# the routes (declared once, by the handlers: tests/contract/routes.py) -> the function serving each
API_ROUTES = {
    (r.path, r.method.lower()): next(lid for lid, op in FUNCTIONS.items() if op == r.operation) for r in routes()
}

# worker -> (event type, source, expected batch size)
WORKERS = {
    "OutboxRelayFunction": ("DynamoDB", "RegistrationsTable", 100),
    "SendEmailFunction": ("SQS", "EmailQueue", 10),
    "CheckNikFunction": ("SQS", "NikQueue", 5),
    "InspectPhotoFunction": ("SQS", "PhotoQueue", 5),
    "HandleEmailEventFunction": ("SQS", "EmailEventsQueue", 10),
}

# SAM event source properties (cfn-lint does not check these; an unknown key fails the SAM transform)
EVENT_PROPERTIES = {
    "Api": {"RestApiId", "Path", "Method", "Auth", "RequestModel", "RequestParameters", "TimeoutInMillis"},
    "SQS": {
        "Queue",
        "BatchSize",
        "Enabled",
        "FilterCriteria",
        "FunctionResponseTypes",
        "KmsKeyArn",
        "MaximumBatchingWindowInSeconds",
        "MetricsConfig",
        "ScalingConfig",
    },
    "DynamoDB": {
        "Stream",
        "StartingPosition",
        "StartingPositionTimestamp",
        "BatchSize",
        "BisectBatchOnFunctionError",
        "DestinationConfig",
        "Enabled",
        "FilterCriteria",
        "FunctionResponseTypes",
        "KmsKeyArn",
        "MaximumBatchingWindowInSeconds",
        "MaximumRecordAgeInSeconds",
        "MaximumRetryAttempts",
        "MetricsConfig",
        "ParallelizationFactor",
        "TumblingWindowInSeconds",
    },
}

WORK_QUEUES = {
    "EmailQueue": ("EmailDLQ", 30),
    "NikQueue": ("NikDLQ", 12),
    "PhotoQueue": ("PhotoDLQ", 5),
    "EmailEventsQueue": ("EmailEventsDLQ", 5),
}
DLQS = {"EmailDLQ", "NikDLQ", "PhotoDLQ", "StreamDLQ", "EmailEventsDLQ"}

READ_ONLY_FUNCTIONS = {"GetRegistrationFunction", "ListBatchesFunction", "GetStatusFunction", "GetPersonalDataFunction"}
WRITE_ACTIONS = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
}
WRITE_POLICY_TEMPLATES = {"DynamoDBCrudPolicy", "DynamoDBWritePolicy"}

# docs/ARCHITECTURE.md "Environment variables"
ALLOWED_ENV = {
    "TABLE_NAME",
    "CORS_ALLOW_ORIGIN",
    "PYDANTIC_DISABLE_PLUGINS",
    "EMAIL_QUEUE_URL",
    "NIK_QUEUE_URL",
    "STREAM_DLQ_URL",
    "PHOTO_BUCKET",
    "TOKEN_SECRET_ARN",
    "CODE_SECRET_ARN",
    "NIK_KMS_KEY_ID",
    "NIK_MAC_KEY_ID",
    "CONFIGURATION_SET",
    "SENDER_EMAIL",
    "REGISTRY_URL",
    "REGISTRY_TIMEOUT_S",
    "REGISTRY_MAX_RPS",
    "TOKEN_TTL_S",
    "CODE_TTL_S",
    "EMAIL_SEND_RATE_PER_S",
    "EMAIL_SENDER_CONCURRENCY",
    "STAGE",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
}

FUNNEL_METRICS = {
    "Registered": "register",
    "EmailVerified": "verify_email",
    "NikVerificationRequested": "verify_nik",
    "NikVerified": "check_nik",
    "NikRejected": "check_nik",
    "PhotoAccepted": "inspect_photo",
    "PhotoRejected": "inspect_photo",
    "BatchJoined": "join_batch",
}

REQUIRED_OUTPUTS = {
    "ApiUrl",
    "TableName",
    "EmailQueueUrl",
    "NikQueueUrl",
    "NikDLQUrl",
    "PhotoQueueUrl",
    "PhotoBucketName",
    "EmailDLQUrl",
    "PhotoDLQUrl",
    "StreamDLQUrl",
    "DashboardName",
}


# -- helpers ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(TEMPLATE_PATH))


@pytest.fixture(scope="module")
def text() -> str:
    return TEMPLATE_PATH.read_text(encoding="utf-8")


def resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id].get("Properties", {})


def get_att(value: Any) -> tuple[str, str] | None:
    """(resource, attribute) of an Fn::GetAtt in either the list or the dotted form."""
    if not isinstance(value, dict) or "Fn::GetAtt" not in value:
        return None
    att = value["Fn::GetAtt"]
    if isinstance(att, str):
        resource, _, attribute = att.partition(".")
        return resource, attribute
    return str(att[0]), str(att[1])


def function_setting(template: dict[str, Any], logical_id: str, key: str) -> Any:
    local = props(template, logical_id)
    if key in local:
        return local[key]
    return template["Globals"]["Function"].get(key)


def env_of(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    merged = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    merged.update(props(template, logical_id).get("Environment", {}).get("Variables", {}))
    return merged


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_of(template: dict[str, Any], logical_id: str) -> str:
    """The logical id of the function's execution role (every function has its own AWS::IAM::Role)."""
    role = get_att(props(template, logical_id).get("Role"))
    assert role is not None and role[1] == "Arn", f"{logical_id}: Role must be !GetAtt <its role>.Arn"
    return role[0]


def policy_items(template: dict[str, Any], logical_id: str) -> list[Any]:
    """The function role's inline policy documents, plus SAM `Policies` if any were set."""
    documents: list[Any] = as_list(props(template, logical_id).get("Policies", []))
    role = template["Resources"][role_of(template, logical_id)]["Properties"]
    documents.extend(policy["PolicyDocument"] for policy in role.get("Policies", []))
    return documents


def inline_statements(template: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for item in policy_items(template, logical_id):
        if isinstance(item, dict) and "Statement" in item:
            statements.extend(as_list(item["Statement"]))
    return statements


def events(template: dict[str, Any], logical_id: str) -> dict[str, dict[str, Any]]:
    return props(template, logical_id).get("Events", {})


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


# -- functions --------------------------------------------------------------------------------------


def test_every_function_with_its_code_and_handler(template: dict[str, Any]) -> None:
    functions = resources(template, "AWS::Serverless::Function")
    assert set(functions) == set(FUNCTIONS)
    for logical_id, operation in FUNCTIONS.items():
        p = props(template, logical_id)
        assert p["CodeUri"] == f"functions/{operation}/", logical_id
        assert p["Handler"] == "app.handler", logical_id
        assert env_of(template, logical_id)["POWERTOOLS_SERVICE_NAME"] == operation, logical_id


def test_every_function_runs_python313_on_arm64_with_the_shared_layer(template: dict[str, Any]) -> None:
    g = template["Globals"]["Function"]
    assert g["Runtime"] == "python3.13"
    assert g["Architectures"] == ["arm64"]
    assert g["Tracing"] == "Active"
    assert {"Ref": "SharedLayer"} in g["Layers"]
    for logical_id in FUNCTIONS:
        p = props(template, logical_id)
        assert "Runtime" not in p and "Architectures" not in p and "Layers" not in p, logical_id
        assert function_setting(template, logical_id, "Runtime") == "python3.13"
        assert function_setting(template, logical_id, "Architectures") == ["arm64"]


def test_shared_layer_is_built_from_src_for_python313_arm64(template: dict[str, Any]) -> None:
    layer = template["Resources"]["SharedLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "src/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    # src/Makefile builds it: a layer of compiled bytecode (tests/unit/test_layer_build.py)
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert "build-SharedLayer:" in (ROOT / "src" / "Makefile").read_text()


def test_environment_variables_are_documented_and_single_valued(template: dict[str, Any]) -> None:
    """The local stack merges every function's variables into one process."""
    seen: dict[str, set[str]] = {}
    for logical_id in FUNCTIONS:
        for name, value in env_of(template, logical_id).items():
            assert name in ALLOWED_ENV, f"{logical_id}: undocumented variable {name}"
            seen.setdefault(name, set()).add(canonical(value))
    conflicting = {n: v for n, v in seen.items() if len(v) > 1 and n != "POWERTOOLS_SERVICE_NAME"}
    assert not conflicting


# -- API --------------------------------------------------------------------------------------------


def test_every_contract_route_exists_exactly_once(template: dict[str, Any], text: str) -> None:
    routes: Counter[tuple[str, str]] = Counter()
    owner: dict[tuple[str, str], str] = {}
    for logical_id in FUNCTIONS:
        for event in events(template, logical_id).values():
            if event["Type"] != "Api":
                continue
            p = event["Properties"]
            assert p["RestApiId"] == {"Ref": "Api"}, logical_id
            route = (str(p["Path"]), str(p["Method"]).lower())
            routes[route] += 1
            owner[route] = logical_id
    assert set(routes) == set(API_ROUTES)
    assert all(count == 1 for count in routes.values()), routes
    assert owner == API_ROUTES
    assert "/_dev" not in text


def test_api_paths_are_plain_lines_for_the_local_stack(text: str) -> None:
    for path, _ in API_ROUTES:
        assert re.search(rf"^\s+Path: {re.escape(path)}$", text, re.MULTILINE), path


def test_api_stage_cors_throttling_logging_and_problem_responses(template: dict[str, Any]) -> None:
    api = props(template, "Api")
    assert template["Resources"]["Api"]["Type"] == "AWS::Serverless::Api"
    assert api["StageName"] == {"Ref": "Stage"}
    assert api["TracingEnabled"] is True
    web_origin = {
        "Fn::If": [
            "HasWebAllowedOrigin",
            {"Fn::Sub": "'${WebAllowedOrigin}'"},
            {"Fn::Sub": "'https://${WebDistribution.DomainName}'"},
        ]
    }
    assert api["Cors"]["AllowOrigin"] == web_origin  # the web client's origin only
    for response in api["GatewayResponses"].values():
        assert response["ResponseParameters"]["Headers"]["Access-Control-Allow-Origin"] == web_origin
    assert "Idempotency-Key" in api["Cors"]["AllowHeaders"]
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in api["MethodSettings"]}
    default = settings[("/*", "*")]
    for path in ("/~1sessions", "/~1registrations~1{id}~1email-verification~1resend"):
        tight = settings[(path, "POST")]
        assert tight["ThrottlingRateLimit"] < default["ThrottlingRateLimit"]
        assert tight["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"]
    log_format = json.loads(api["AccessLogSetting"]["Format"])
    assert {"requestId", "ip", "httpMethod", "resourcePath", "status", "latency"} <= set(log_format)
    assert not any("querystring" in v.lower() or "body" in v.lower() for v in log_format.values())

    responses = api["GatewayResponses"]
    expected = {
        "DEFAULT_4XX": None,
        "DEFAULT_5XX": None,
        "MISSING_AUTHENTICATION_TOKEN": (404, "not-found"),
        "THROTTLED": (429, "throttled"),
        "REQUEST_TOO_LARGE": (413, "payload-too-large"),
    }
    assert set(expected) <= set(responses)
    for name, response in responses.items():
        headers = response["ResponseParameters"]["Headers"]
        assert headers["Content-Type"] == "'application/problem+json'", name
        body = response["ResponseTemplates"]["application/json"]
        # the template substitutes $context variables only; with them replaced it must be JSON
        problem = json.loads(body.replace("$context.error.messageString", '"message"'))
        assert set(problem) == {"type", "title", "status", "detail"}, name
        assert str(problem["status"]) == str(response["StatusCode"]), name
        if expected.get(name):
            assert (problem["status"], problem["type"]) == expected[name], name


# -- permissions ------------------------------------------------------------------------------------


def test_policies_have_no_wildcard_actions_or_resources(template: dict[str, Any]) -> None:
    """Resource '*' only for actions without resource-level permissions (tests/test_template_iam.py)."""
    for logical_id in FUNCTIONS:
        assert "Policies" not in props(template, logical_id), f"{logical_id}: SAM Policies next to its own Role"
        for item in policy_items(template, logical_id):
            assert not isinstance(item, str), f"{logical_id}: managed policy {item} attached"
        for statement in inline_statements(template, logical_id):
            if statement.get("Effect") != "Allow":
                continue
            for action in as_list(statement["Action"]):
                assert "*" not in action, f"{logical_id}: wildcard action {action}"
            for resource in as_list(statement["Resource"]):
                if resource == "*":
                    assert as_list(statement["Action"]) == ["dynamodb:ListStreams"], statement.get("Sid")


def test_read_only_functions_cannot_write(template: dict[str, Any]) -> None:
    for logical_id in READ_ONLY_FUNCTIONS:
        for item in policy_items(template, logical_id):
            if isinstance(item, dict):
                assert not (set(item) & WRITE_POLICY_TEMPLATES), logical_id
        for statement in inline_statements(template, logical_id):
            for action in as_list(statement["Action"]):
                writes = [
                    w
                    for w in WRITE_ACTIONS | {"kms:Encrypt", "kms:GenerateDataKey"}
                    if fnmatchcase(w.lower(), str(action).lower())
                ]
                assert not writes, f"{logical_id}: {action} allows {writes}"


def test_health_has_no_extra_permissions(template: dict[str, Any]) -> None:
    assert "Policies" not in props(template, "HealthFunction")
    assert inline_statements(template, "HealthFunction") == []


def test_nik_key_use_is_split_between_submit_and_check(template: dict[str, Any]) -> None:
    def nik_key_actions(logical_id: str) -> set[str]:
        found: set[str] = set()
        for statement in inline_statements(template, logical_id):
            if any(get_att(r) == ("NikKey", "Arn") for r in as_list(statement["Resource"])):
                found |= set(as_list(statement["Action"]))
        return found

    assert nik_key_actions("VerifyNikFunction") == {"kms:Encrypt"}
    assert nik_key_actions("CheckNikFunction") == {"kms:Decrypt"}
    for logical_id in set(FUNCTIONS) - {"VerifyNikFunction", "CheckNikFunction"}:
        assert not nik_key_actions(logical_id), logical_id


def test_table_key_is_granted_to_table_users_through_dynamodb_only(template: dict[str, Any]) -> None:
    for logical_id in FUNCTIONS:
        statements = inline_statements(template, logical_id)
        uses_table = any(
            get_att(r) == ("RegistrationsTable", "Arn") for s in statements for r in as_list(s["Resource"])
        )
        key_statements = [
            s for s in statements if any(get_att(r) == ("DataKey", "Arn") for r in as_list(s["Resource"]))
        ]
        assert bool(key_statements) == uses_table, logical_id
        for statement in key_statements:
            assert "kms:ViaService" in statement["Condition"]["StringEquals"], logical_id


# -- event sources and queues -----------------------------------------------------------------------


def test_workers_event_sources(template: dict[str, Any]) -> None:
    for logical_id, (kind, source, batch_size) in WORKERS.items():
        (event,) = events(template, logical_id).values()
        assert event["Type"] == kind, logical_id
        p = event["Properties"]
        assert p["BatchSize"] == batch_size, logical_id
        assert "ReportBatchItemFailures" in p["FunctionResponseTypes"], logical_id
        if kind == "SQS":
            assert get_att(p["Queue"]) == (source, "Arn"), logical_id
            assert "MaximumConcurrency" in p["ScalingConfig"], logical_id
            timeout = int(function_setting(template, logical_id, "Timeout"))
            assert int(props(template, source)["VisibilityTimeout"]) >= 6 * timeout, logical_id
        else:
            assert get_att(p["Stream"]) == ("RegistrationsTable", "StreamArn")
            assert p["BisectBatchOnFunctionError"] is True
            assert get_att(p["DestinationConfig"]["OnFailure"]["Destination"]) == ("StreamDLQ", "Arn")
            patterns = [json.loads(f["Pattern"]) for f in p["FilterCriteria"]["Filters"]]
            prefixes = {pat["dynamodb"]["Keys"]["pk"]["S"][0]["prefix"] for pat in patterns}
            assert prefixes == {"OUTBOX#", "REG#"}
    api_only = set(FUNCTIONS) - set(WORKERS)
    for logical_id in api_only:
        assert {e["Type"] for e in events(template, logical_id).values()} == {"Api"}, logical_id


def test_event_properties_are_known_to_sam(template: dict[str, Any]) -> None:
    for logical_id in FUNCTIONS:
        for name, event in events(template, logical_id).items():
            unknown = set(event["Properties"]) - EVENT_PROPERTIES[event["Type"]]
            assert not unknown, f"{logical_id}.{name}: {unknown}"


def test_every_work_queue_has_a_dead_letter_queue(template: dict[str, Any]) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    assert set(queues) == set(WORK_QUEUES) | DLQS
    for name, (dlq, max_receive) in WORK_QUEUES.items():
        redrive = props(template, name)["RedrivePolicy"]
        assert get_att(redrive["deadLetterTargetArn"]) == (dlq, "Arn"), name
        assert int(redrive["maxReceiveCount"]) == max_receive, name
    for name in DLQS:
        assert "RedrivePolicy" not in props(template, name), name
        assert int(props(template, name)["MessageRetentionPeriod"]) == 14 * 24 * 3600, name
    for name in queues:
        assert props(template, name)["SqsManagedSseEnabled"] is True, name


def test_every_queue_denies_insecure_transport(template: dict[str, Any]) -> None:
    covered: set[str] = set()
    for policy in resources(template, "AWS::SQS::QueuePolicy").values():
        p = policy["Properties"]
        denies_tls = any(
            s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in p["PolicyDocument"]["Statement"]
        )
        if denies_tls:
            covered |= {q["Ref"] for q in p["Queues"]}
    assert covered == set(WORK_QUEUES) | DLQS


def test_photo_queue_accepts_only_the_photo_bucket(template: dict[str, Any]) -> None:
    (allow,) = [s for s in props(template, "PhotoQueuePolicy")["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    source_arn = allow["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
    bucket_name = props(template, "PhotoBucket")["BucketName"]["Fn::Sub"]
    assert source_arn == "arn:${AWS::Partition}:s3:::" + bucket_name


# -- data -------------------------------------------------------------------------------------------


def test_table_has_pitr_sse_ttl_and_stream(template: dict[str, Any]) -> None:
    table = template["Resources"]["RegistrationsTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    p = table["Properties"]
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert [k["AttributeName"] for k in p["KeySchema"]] == ["pk", "sk"]
    assert p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert p["SSESpecification"]["SSEEnabled"] is True and p["SSESpecification"]["SSEType"] == "KMS"
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert p["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert p["DeletionProtectionEnabled"] is True


def test_keys_rotate_and_the_secrets_are_generated(template: dict[str, Any]) -> None:
    for key in ("NikKey", "DataKey", "SecretsKey", "LogsKey", "NotificationsKey"):
        assert props(template, key)["EnableKeyRotation"] is True
    for secret in ("TokenSigningSecret", "CodeSecret"):
        generated = props(template, secret)["GenerateSecretString"]
        assert generated["PasswordLength"] == 64 and generated["ExcludePunctuation"] is True


def test_photo_bucket_is_private_and_notifies_the_photo_queue(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["PhotoBucket"]
    p = bucket["Properties"]
    assert all(v is True for v in p["PublicAccessBlockConfiguration"].values())
    assert len(p["PublicAccessBlockConfiguration"]) == 4
    assert p["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert "BucketEncryption" in p
    (notification,) = p["NotificationConfiguration"]["QueueConfigurations"]
    assert get_att(notification["Queue"]) == ("PhotoQueue", "Arn")
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "uploads/"}]
    assert "PhotoQueuePolicy" in as_list(bucket["DependsOn"])
    statements = props(template, "PhotoBucketPolicy")["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false" for s in statements)


# -- observability and outputs ----------------------------------------------------------------------


def test_dashboard_shows_the_funnel_per_emitting_service(template: dict[str, Any]) -> None:
    body = props(template, "Dashboard")["DashboardBody"]["Fn::Sub"]
    for metric, service in FUNNEL_METRICS.items():
        assert f'["Prakerja", "{metric}", "service", "{service}"]' in body, metric
    # every ${...} names a parameter, a pseudo parameter or a resource (attribute)
    for name in re.findall(r"\$\{([^}]+)\}", body):
        base = name.split(".")[0]
        assert name.startswith("AWS::") or base in template["Resources"] or base in template["Parameters"], name
    # once substituted it is valid JSON
    widgets = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))["widgets"]
    assert all(w["properties"]["metrics"] for w in widgets)


def test_alarms_always_notify_the_alarm_topic(template: dict[str, Any]) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    assert alarms
    for name, alarm in alarms.items():
        p = alarm["Properties"]
        assert p["TreatMissingData"] == "notBreaching", name
        assert p["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert p["OKActions"] == [{"Ref": "AlarmTopic"}], name
    watched_queues = {
        get_att(d["Value"])[0]
        for a in alarms.values()
        for d in a["Properties"].get("Dimensions", [])
        if d["Name"] == "QueueName" and get_att(d["Value"])
    }
    assert watched_queues >= DLQS | {"NikQueue", "EmailQueue"}
    # the topic always exists; only the email subscription depends on AlarmEmail
    assert "Condition" not in template["Resources"]["AlarmTopic"]
    subscription = template["Resources"]["AlarmTopicSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["TopicArn"] == {"Ref": "AlarmTopic"}
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_outputs_for_the_ops_cli(template: dict[str, Any]) -> None:
    assert set(template["Outputs"]) >= REQUIRED_OUTPUTS


# -- lint -------------------------------------------------------------------------------------------


def test_cfn_lint_reports_nothing() -> None:
    matches = lint_file(TEMPLATE_PATH, {"regions": ["us-east-1", "ap-southeast-3"]})
    assert [str(m) for m in matches] == []
