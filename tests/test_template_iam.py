"""Least privilege, keys, per-client limits and email events in template.yaml (issue 10).

Permissions are read from the template itself: every function runs with its own AWS::IAM::Role
(so SAM adds no AWS managed policy with `Resource: *` to a role it would generate). The tests
check what a reviewer would otherwise check by hand:
- every DynamoDB statement on the table is limited to the partition-key prefixes the function's
  code touches (`ForAllValues:StringLike` on `dynamodb:LeadingKeys`), and those prefixes are the
  ones the adapters actually build;
- `Resource: "*"` only for actions that have no resource-level permission;
- a secret or key is usable only by the functions that need it, and the environment variables
  naming them go to exactly those functions;
- the WAF rate rules and their machine-readable copy for the local gateway agree.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from tests.test_template import (
    API_ROUTES,
    FUNCTIONS,
    as_list,
    events,
    get_att,
    props,
    resources,
    role_of,
)

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = ROOT / "template.yaml"
ADAPTERS = ROOT / "src" / "prakerja" / "adapters"

# -- the specification --------------------------------------------------------------------------------

# function -> DynamoDB action -> partition-key patterns it may touch (docs/ARCHITECTURE.md "Data").
# Read from the code (src/prakerja/adapters/*.py and the services each handler wires).
ITEM_ACCESS: dict[str, dict[str, set[str]]] = {
    "RegisterFunction": {
        # idempotency replay; the address's claim (taken over when unverified) and, for a claim from
        # before the `verified` flag, its registration
        "GetItem": {"IDEM#*", "EMAIL#*", "REG#*"},
        "PutItem": {"REG#*", "EMAIL#*", "OUTBOX#*", "IDEM#*"},  # one transaction
        "DeleteItem": {"REG#*"},  # the unverified registration taken over (same transaction)
    },
    # the email claim is verified (its TTL stopped) with the registration, in one transaction
    "VerifyEmailFunction": {"GetItem": {"REG#*"}, "UpdateItem": {"REG#*", "EMAIL#*"}},
    # the per-address code counters on the email claim move with each code email
    "ResendCodeFunction": {"GetItem": {"REG#*"}, "UpdateItem": {"REG#*", "EMAIL#*"}, "PutItem": {"OUTBOX#*"}},
    "CreateSessionFunction": {
        "GetItem": {"EMAIL#*", "REG#*"},
        "UpdateItem": {"REG#*", "LOGIN#*"},  # the sign-in budget (LOGIN# for an email without an account)
    },
    "RequestPasswordResetFunction": {
        "BatchGetItem": {"EMAIL#*", "RESET#*"},
        "PutItem": {"RESET#*", "OUTBOX#*"},
        "ConditionCheckItem": {"EMAIL#*"},
    },
    "ConfirmPasswordResetFunction": {
        "GetItem": {"RESET#*", "REG#*"},
        "UpdateItem": {"RESET#*", "REG#*"},
        "DeleteItem": {"RESET#*"},
        "ConditionCheckItem": {"EMAIL#*"},
    },
    "DeleteSessionFunction": {"UpdateItem": {"REG#*"}},
    "GetRegistrationFunction": {"GetItem": {"REG#*"}},
    "GetPersonalDataFunction": {"GetItem": {"REG#*"}},
    # erasure in one transaction: the registration and every item keyed by its personal data, the seat back
    "DeleteRegistrationFunction": {
        "GetItem": {"REG#*"},
        "DeleteItem": {"REG#*", "EMAIL#*", "NIK#*", "LOGIN#*", "RESET#*"},
        "UpdateItem": {"SEAT#*"},
    },
    "HealthFunction": {},
    "GetStatusFunction": {"GetItem": {"BREAKER#*"}},  # the breaker item only, read
    "VerifyNikFunction": {"GetItem": {"REG#*"}, "UpdateItem": {"REG#*"}, "PutItem": {"NIK#*", "OUTBOX#*"}},
    "UploadPhotoFunction": {"UpdateItem": {"REG#*"}},
    "ListBatchesFunction": {"Query": {"BATCHES"}, "BatchGetItem": {"SEAT#*"}},
    "JoinBatchFunction": {
        "GetItem": {"REG#*", "BATCHES"},
        "BatchGetItem": {"SEAT#*"},
        "UpdateItem": {"REG#*", "SEAT#*"},
    },
    # counter shards on distinct partition keys FUNNEL#00..15 (the relay never touches the old FUNNEL key)
    "OutboxRelayFunction": {"PutItem": {"SEEN#*"}, "UpdateItem": {"FUNNEL#*"}},
    "SendEmailFunction": {"GetItem": {"REG#*"}, "UpdateItem": {"REG#*"}},  # stamps code_sent_at
    "CheckNikFunction": {
        "GetItem": {"REG#*", "BREAKER#*", "RATE#*"},
        "UpdateItem": {"REG#*", "RATE#*"},
        "PutItem": {"OUTBOX#*", "BREAKER#*"},
        "DeleteItem": {"NIK#*"},
    },
    "InspectPhotoFunction": {"GetItem": {"REG#*"}, "UpdateItem": {"REG#*"}},
    "HandleEmailEventFunction": {"GetItem": {"EMAIL#*"}, "UpdateItem": {"REG#*"}},
}
# Patterns granted ahead of the code that will use them (must stay few, each with its reason).
GRANTED_AHEAD: dict[str, str] = {}
# Key-value actions that carry a leading key; anything else on the table is refused by these tests.
ITEM_ACTIONS = {
    "GetItem",
    "BatchGetItem",
    "Query",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "ConditionCheckItem",
    "BatchWriteItem",
}
STREAM_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}

# Actions for which AWS offers no resource-level permission: the only ones allowed on Resource '*'.
STAR_RESOURCE_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "dynamodb:ListStreams",
}

TOKEN_USERS = {
    "VerifyEmailFunction",  # issues a token
    "CreateSessionFunction",  # issues a token
    "GetRegistrationFunction",
    "VerifyNikFunction",
    "UploadPhotoFunction",
    "JoinBatchFunction",
    "ConfirmPasswordResetFunction",  # issues a token
    "DeleteSessionFunction",  # checks the token it revokes
    "GetPersonalDataFunction",
    "DeleteRegistrationFunction",
}
CODE_USERS = {"VerifyEmailFunction", "SendEmailFunction", "ConfirmPasswordResetFunction"}  # checks codes / emails them
# One secret per purpose, read lazily by the routes that use it: the master AppSecret is gone
# (Register, ResendCode and RequestPasswordReset read no secret at all; CheckNik uses the stored fingerprint).
SECRET_READERS = {
    "TokenSigningSecret": TOKEN_USERS,
    "CodeSecret": CODE_USERS,
}
SECRET_ENV = {"TokenSigningSecret": "TOKEN_SECRET_ARN", "CodeSecret": "CODE_SECRET_ARN"}

# WAF: the routes with a per-IP rate rule (docs/API.md; /password-resets* are issue 9's routes).
RATE_LIMITED = {
    ("POST", "/registrations"): "RegistrationRateLimit",
    ("POST", "/sessions"): "SignInRateLimit",
    ("POST", "/registrations/{id}/email-verification"): "CodeRateLimit",
    ("POST", "/registrations/{id}/email-verification/resend"): "EmailSendRateLimit",
    ("POST", "/password-resets"): "EmailSendRateLimit",
    ("POST", "/password-resets/confirm"): "CodeRateLimit",
}
MANAGED_GROUPS = {
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
}


# -- helpers ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(TEMPLATE_PATH))


def statements_of(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    role = template["Resources"][role_of(template, function)]["Properties"]
    found: list[dict[str, Any]] = []
    for policy in role.get("Policies", []):
        found.extend(as_list(policy["PolicyDocument"]["Statement"]))
    return found


def every_policy_statement(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(resource, statement) for every identity policy in the template (roles and managed policies)."""
    found: list[tuple[str, dict[str, Any]]] = []
    for lid, res in template["Resources"].items():
        p = res.get("Properties", {})
        if res["Type"] == "AWS::IAM::Role":
            for policy in p.get("Policies", []):
                found.extend((lid, s) for s in as_list(policy["PolicyDocument"]["Statement"]))
        elif res["Type"] == "AWS::IAM::ManagedPolicy":
            found.extend((lid, s) for s in as_list(p["PolicyDocument"]["Statement"]))
    return found


def on(statement: dict[str, Any], logical_id: str, attribute: str = "Arn") -> bool:
    return any(get_att(r) == (logical_id, attribute) for r in as_list(statement.get("Resource")))


def refs(statement: dict[str, Any]) -> set[str]:
    return {r["Ref"] for r in as_list(statement.get("Resource")) if isinstance(r, dict) and "Ref" in r}


def actions(statement: dict[str, Any]) -> set[str]:
    return {str(a) for a in as_list(statement["Action"])}


def granted(template: dict[str, Any], function: str) -> dict[str, set[str]]:
    """DynamoDB action (without prefix) -> leading-key patterns, over the function's table statements."""
    result: dict[str, set[str]] = {}
    for statement in statements_of(template, function):
        if not on(statement, "RegistrationsTable"):
            continue
        patterns = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        for action in actions(statement):
            result.setdefault(action.removeprefix("dynamodb:"), set()).update(as_list(patterns))
    return result


def code_prefixes() -> set[str]:
    """Partition-key patterns the adapters build: key(f"REG#{...}") -> REG#*, key("FUNNEL", ..) -> FUNNEL."""
    found: set[str] = set()
    for path in ADAPTERS.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for literal in re.findall(r'(?:\bkey\(\s*f?|return f)"([A-Z][A-Z_]*#?)', text):
            found.add(literal + "*" if literal.endswith("#") else literal)
        for constant in re.findall(r'^[A-Z_]+_PK = "([A-Z][A-Z_]*)"$', text, re.MULTILINE):
            found.add(constant)
        for prefix in re.findall(r'^[A-Z_]+_PREFIX = "([A-Z][A-Z_]*#)"$', text, re.MULTILINE):
            found.add(prefix + "*")
    return found


def waf_rules(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The web ACL's rules, conditional ones (Fn::If [cond, rule, NoValue]) included."""
    return [rule["Fn::If"][1] if "Fn::If" in rule else rule for rule in props(template, "ApiWebAcl")["Rules"]]


def scope_of(statement: dict[str, Any]) -> tuple[str, str]:
    """(method, path regex) of a route scope: AND of a method ByteMatch and a UriPath RegexMatch."""
    parts = statement["AndStatement"]["Statements"]
    (method,) = [p["ByteMatchStatement"] for p in parts if "ByteMatchStatement" in p]
    (path,) = [p["RegexMatchStatement"] for p in parts if "RegexMatchStatement" in p]
    assert method["FieldToMatch"] == {"Method": {}} and method["PositionalConstraint"] == "EXACTLY"
    assert path["FieldToMatch"] == {"UriPath": {}}
    transformations = [t["Type"] for t in sorted(path["TextTransformations"], key=lambda t: t["Priority"])]
    assert transformations == ["URL_DECODE", "NORMALIZE_PATH"]  # %2F and // cannot dodge the count
    return str(method["SearchString"]), str(path["RegexString"])


def concrete(path: str) -> str:
    return path.replace("{id}", "4f1c2b3a9d8e7f6a5b4c3d2e1f0a9b8c")


# -- roles ----------------------------------------------------------------------------------------------


def test_every_function_has_its_own_role_assumable_by_lambda_only(template: dict[str, Any]) -> None:
    seen: set[str] = set()
    for function in FUNCTIONS:
        role_id = role_of(template, function)
        assert role_id == f"{function}Role" and role_id not in seen
        seen.add(role_id)
        role = template["Resources"][role_id]
        assert role["Type"] == "AWS::IAM::Role"
        (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust == {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
        # only the stack's own logs-and-traces policy: no AWS managed policy (they grant Resource '*')
        assert role["Properties"]["ManagedPolicyArns"] == [{"Ref": "FunctionLogsAndTracesPolicy"}], function


def test_logs_are_scoped_to_the_stacks_function_log_groups(template: dict[str, Any]) -> None:
    document = props(template, "FunctionLogsAndTracesPolicy")["PolicyDocument"]
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    assert set(by_sid) == {"WriteOwnLogs", "WriteTraces"}
    logs = by_sid["WriteOwnLogs"]
    assert actions(logs) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert logs["Resource"]["Fn::Sub"].endswith(":log-group:/aws/lambda/${AWS::StackName}-*:*")
    assert actions(by_sid["WriteTraces"]) == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def test_resource_star_only_where_aws_has_no_resource_level_permission(template: dict[str, Any]) -> None:
    for owner, statement in every_policy_statement(template):
        if statement.get("Effect") != "Allow":
            continue
        assert all("*" not in a for a in actions(statement)), (owner, statement.get("Sid"))
        if "*" in as_list(statement["Resource"]):
            assert actions(statement) <= STAR_RESOURCE_ACTIONS, (owner, statement.get("Sid"))
    # AWS managed policies: only the API Gateway account role's (CloudWatch Logs push, required by the service)
    for lid, res in resources(template, "AWS::IAM::Role").items():
        for arn in res["Properties"].get("ManagedPolicyArns", []):
            if lid == "ApiGatewayCloudWatchRole":
                assert arn["Fn::Sub"].endswith(":policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
            else:
                assert arn == {"Ref": "FunctionLogsAndTracesPolicy"}, lid


# -- DynamoDB: least privilege to the item ---------------------------------------------------------------


def test_every_table_statement_is_limited_to_leading_keys(template: dict[str, Any]) -> None:
    for function in FUNCTIONS:
        for statement in statements_of(template, function):
            if not any("dynamodb:" in a for a in actions(statement)):
                continue
            if on(statement, "RegistrationsTable", "StreamArn"):
                assert actions(statement) <= STREAM_ACTIONS, function
                continue
            if actions(statement) == {"dynamodb:ListStreams"}:
                assert function == "OutboxRelayFunction"
                continue
            assert [get_att(r) for r in as_list(statement["Resource"])] == [("RegistrationsTable", "Arn")], (
                function,
                statement.get("Sid"),
            )
            assert {a.removeprefix("dynamodb:") for a in actions(statement)} <= ITEM_ACTIONS, statement.get("Sid")
            condition = statement["Condition"]
            assert list(condition) == ["ForAllValues:StringLike"], statement.get("Sid")
            assert list(condition["ForAllValues:StringLike"]) == ["dynamodb:LeadingKeys"]
            patterns = as_list(condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])
            assert patterns and all(isinstance(p, str) and p not in ("*", "") for p in patterns)


def test_each_function_reaches_exactly_the_items_its_code_touches(template: dict[str, Any]) -> None:
    for function in FUNCTIONS:
        assert granted(template, function) == ITEM_ACCESS[function], function


def test_the_unauthenticated_list_cannot_read_registrations(template: dict[str, Any]) -> None:
    access = granted(template, "ListBatchesFunction")
    patterns = set().union(*access.values())
    assert patterns == {"BATCHES", "SEAT#*"}
    assert not any(re.fullmatch(p.replace("*", ".*"), "REG#abc") for p in patterns)
    assert not any(re.fullmatch(p.replace("*", ".*"), "EMAIL#a@b.c") for p in patterns)


def test_granted_prefixes_are_the_ones_the_adapters_build(template: dict[str, Any]) -> None:
    in_code = code_prefixes()
    assert {"REG#*", "EMAIL#*", "LOGIN#*", "IDEM#*", "OUTBOX#*", "NIK#*", "BREAKER#*", "SEEN#*", "RATE#*"} <= in_code
    assert {"BATCHES", "SEAT#*", "FUNNEL#*"} <= in_code
    in_template = {p for function in FUNCTIONS for ps in granted(template, function).values() for p in ps}
    # every item the code writes or reads is reachable by some function...
    assert in_code <= in_template, f"no function may touch {sorted(in_code - in_template)}: add it to a role"
    # ...and no function is granted a prefix the code never builds (a typo, or a leftover)
    assert in_template - in_code == set(GRANTED_AHEAD), sorted(in_template - in_code)


def test_no_function_can_scan_or_use_partiql(template: dict[str, Any]) -> None:
    """A Scan has no leading key, so ForAllValues:StringLike would be vacuously true for it."""
    for function in FUNCTIONS:
        for statement in statements_of(template, function):
            for action in actions(statement):
                assert action not in {"dynamodb:Scan"} and not action.startswith("dynamodb:PartiQL"), function


# -- event sources --------------------------------------------------------------------------------------


def test_event_sources_are_granted_on_their_own_queue_or_stream_only(template: dict[str, Any]) -> None:
    poll = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    for function in FUNCTIONS:
        statements = statements_of(template, function)
        consumed = {
            get_att(r)
            for s in statements
            if actions(s) & {"sqs:ReceiveMessage", "sqs:DeleteMessage"}
            for r in as_list(s["Resource"])
        }
        stream_read = [s for s in statements if actions(s) & STREAM_ACTIONS]
        sources = [e for e in events(template, function).values() if e["Type"] in ("SQS", "DynamoDB")]
        if not sources:
            assert not consumed and not stream_read, function
            continue
        (source,) = sources
        if source["Type"] == "SQS":
            queue = get_att(source["Properties"]["Queue"])
            assert consumed == {queue}, function
            (statement,) = [s for s in statements if actions(s) & poll]
            assert actions(statement) == poll
        else:
            (statement,) = stream_read
            assert actions(statement) == STREAM_ACTIONS
            assert as_list(statement["Resource"]) == [{"Fn::GetAtt": ["RegistrationsTable", "StreamArn"]}]
            destination = get_att(source["Properties"]["DestinationConfig"]["OnFailure"]["Destination"])
            assert any(on(s, destination[0]) and actions(s) == {"sqs:SendMessage"} for s in statements)


# -- secrets and keys ------------------------------------------------------------------------------------


def test_secrets_are_encrypted_with_the_customer_managed_secrets_key(template: dict[str, Any]) -> None:
    secrets = resources(template, "AWS::SecretsManager::Secret")
    assert set(secrets) == set(SECRET_READERS)
    for name, secret in secrets.items():
        assert secret["Properties"]["KmsKeyId"] == {"Ref": "SecretsKey"}, name
    assert template["Resources"]["SecretsKey"]["Type"] == "AWS::KMS::Key"


def test_a_secret_is_readable_only_by_the_functions_that_need_it(template: dict[str, Any]) -> None:
    readers: dict[str, set[str]] = {name: set() for name in SECRET_READERS}
    for function in FUNCTIONS:
        statements = statements_of(template, function)
        reads = [s for s in statements if actions(s) & {"secretsmanager:GetSecretValue"}]
        for statement in reads:
            assert actions(statement) == {"secretsmanager:GetSecretValue"}
            for secret in refs(statement):
                readers[secret].add(function)
        decrypt = [s for s in statements if on(s, "SecretsKey")]
        if reads:
            (statement,) = decrypt
            assert actions(statement) == {"kms:Decrypt"}
            via = statement["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Sub"]
            assert via.startswith("secretsmanager."), function
        else:
            assert not decrypt, function
    assert readers == SECRET_READERS
    assert "CheckNikFunction" not in set().union(*readers.values())


def test_secret_variables_go_to_exactly_the_functions_allowed_to_read_them(template: dict[str, Any]) -> None:
    for secret, variable in SECRET_ENV.items():
        holders = {
            f
            for f in FUNCTIONS
            if props(template, f).get("Environment", {}).get("Variables", {}).get(variable) == {"Ref": secret}
        }
        assert holders == SECRET_READERS[secret], variable


def test_only_the_nik_submission_can_compute_fingerprints(template: dict[str, Any]) -> None:
    key = props(template, "NikMacKey")
    assert (key["KeySpec"], key["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    users = set()
    for function in FUNCTIONS:
        for statement in statements_of(template, function):
            if on(statement, "NikMacKey"):
                users.add(function)
                assert actions(statement) == {"kms:GenerateMac"}
                assert statement["Condition"] == {"StringEquals": {"kms:MacAlgorithm": "HMAC_SHA_256"}}
    assert users == {"VerifyNikFunction"}
    with_variable = {
        f for f in FUNCTIONS if "NIK_MAC_KEY_ID" in props(template, f).get("Environment", {}).get("Variables", {})
    }
    assert with_variable == users
    assert props(template, "VerifyNikFunction")["Environment"]["Variables"]["NIK_MAC_KEY_ID"] == {"Ref": "NikMacKey"}


def test_only_the_stacks_publishers_may_use_the_notifications_key(template: dict[str, Any]) -> None:
    statements = props(template, "NotificationsKey")["KeyPolicy"]["Statement"]
    services = {
        service for s in statements if "Service" in s["Principal"] for service in as_list(s["Principal"]["Service"])
    }
    assert services == {"cloudwatch.amazonaws.com", "ses.amazonaws.com"}
    for topic in ("AlarmTopic", "EmailEventsTopic"):
        assert props(template, topic)["KmsMasterKeyId"] == {"Ref": "NotificationsKey"}


def test_log_groups_are_encrypted_with_the_logs_key(template: dict[str, Any]) -> None:
    groups = resources(template, "AWS::Logs::LogGroup")
    assert len(groups) >= len(FUNCTIONS) + 2  # functions, API access logs, WAF logs
    for name, group in groups.items():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["LogsKey", "Arn"]}, name


# -- per-client limits (WAF) ------------------------------------------------------------------------------


def test_the_web_acl_guards_the_api_stage(template: dict[str, Any]) -> None:
    acl = props(template, "ApiWebAcl")
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    assert acl["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
    association = template["Resources"]["ApiWebAclAssociation"]
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": ["ApiWebAcl", "Arn"]}
    arn = association["Properties"]["ResourceArn"]["Fn::Sub"]
    assert arn.endswith("::/restapis/${Api}/stages/${Stage}")
    assert association["DependsOn"] == "ApiStage"  # SAM's stage of `Api` (StageName is a parameter)
    groups = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in waf_rules(template)
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert groups == MANAGED_GROUPS
    for rule in waf_rules(template):
        assert rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True, rule["Name"]
        assert rule["VisibilityConfig"]["MetricName"] == rule["Name"]
    priorities = [r["Priority"] for r in waf_rules(template)]
    assert len(priorities) == len(set(priorities))


def test_rate_rules_limit_each_sensitive_route_per_ip_with_a_429(template: dict[str, Any]) -> None:
    acl = props(template, "ApiWebAcl")
    body_key = None
    covered: dict[tuple[str, str], str] = {}
    for rule in waf_rules(template):
        rate = rule["Statement"].get("RateBasedStatement")
        if rate is None:
            continue
        assert rate["AggregateKeyType"] == "IP"
        assert rate["EvaluationWindowSec"] == {"Ref": "RateLimitWindowSeconds"}
        limit = rate["Limit"]["Ref"]
        method, regex = scope_of(rate["ScopeDownStatement"])
        matched = [
            (m, path)
            for (m, path) in set(RATE_LIMITED) | {(m.upper(), p) for p, m in API_ROUTES}
            if m == method and re.search(regex, "/v1" + concrete(path))
        ]
        assert len(matched) == 1, (rule["Name"], matched)  # exactly one route per rule
        covered[matched[0]] = limit
        response = rule["Action"]["Block"]["CustomResponse"]
        assert response["ResponseCode"] == 429
        body_key = response["CustomResponseBodyKey"]
    assert covered == RATE_LIMITED
    body = acl["CustomResponseBodies"][body_key]
    assert body["ContentType"] == "APPLICATION_JSON"
    assert '"type":"throttled"' in body["Content"] and '"status":429' in body["Content"]


def test_route_regexes_tolerate_the_stage_prefix_and_a_trailing_slash(template: dict[str, Any]) -> None:
    for rule in waf_rules(template):
        rate = rule["Statement"].get("RateBasedStatement")
        if rate is None:
            continue
        _, regex = scope_of(rate["ScopeDownStatement"])
        entry = {e["Rule"]: e for e in template["Resources"]["ApiWebAcl"]["Metadata"]["RateLimits"]}[rule["Name"]]
        path = concrete(entry["Path"])
        for variant in (path, "/v1" + path, "/v1" + path + "/"):
            assert re.search(regex, variant), (rule["Name"], variant)
        for other in ("/v1" + path + "/extra", "/v1/health", "/v1/batches"):
            assert not re.search(regex, other), (rule["Name"], other)


def test_rate_limits_are_exported_plainly_for_the_local_gateway(template: dict[str, Any]) -> None:
    """Metadata.RateLimits: one {Rule, Method, Path, Limit, WindowSeconds} per rate rule, equal to it."""
    exported = template["Resources"]["ApiWebAcl"]["Metadata"]["RateLimits"]
    rules = {r["Name"]: r for r in waf_rules(template) if "RateBasedStatement" in r["Statement"]}
    assert sorted(e["Rule"] for e in exported) == sorted(rules)
    for entry in exported:
        assert set(entry) == {"Rule", "Method", "Path", "Limit", "WindowSeconds"}
        rate = rules[entry["Rule"]]["Statement"]["RateBasedStatement"]
        method, regex = scope_of(rate["ScopeDownStatement"])
        assert entry["Method"] == method
        assert entry["Limit"] == rate["Limit"] and entry["WindowSeconds"] == rate["EvaluationWindowSec"]
        assert re.search(regex, "/v1" + concrete(entry["Path"])), entry
        assert RATE_LIMITED[(entry["Method"], entry["Path"])] == entry["Limit"]["Ref"]


def test_rate_parameters_have_sane_documented_defaults(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    window = parameters["RateLimitWindowSeconds"]
    assert sorted(window["AllowedValues"]) == [60, 120, 300, 600] and window["Default"] == 300
    for name in set(RATE_LIMITED.values()):
        parameter = parameters[name]
        assert parameter["Type"] == "Number" and parameter["MinValue"] >= 10  # WAF's minimum
        assert 10 <= int(parameter["Default"]) <= 1000, name
        assert "per source IP per window" in " ".join(str(parameter["Description"]).split()), name
    # the email-sending routes are the tightest (mail bombing, SES reputation)
    defaults = {name: int(parameters[name]["Default"]) for name in set(RATE_LIMITED.values())}
    assert defaults["EmailSendRateLimit"] == min(defaults.values())


def test_registration_bot_check_is_optional_and_off_by_default(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["RegistrationChallenge"]
    assert parameter["Default"] == "off" and set(parameter["AllowedValues"]) == {"off", "challenge", "captcha"}
    (conditional,) = [r for r in props(template, "ApiWebAcl")["Rules"] if "Fn::If" in r]
    condition, rule, otherwise = conditional["Fn::If"]
    assert condition == "RegistrationChallengeOn" and otherwise == {"Ref": "AWS::NoValue"}
    assert rule["Action"]["Fn::If"] == ["RegistrationCaptcha", {"Captcha": {}}, {"Challenge": {}}]
    method, regex = scope_of(rule["Statement"])
    assert method == "POST" and re.search(regex, "/v1/registrations")
    assert not re.search(regex, "/v1/registrations/abc/nik")


def test_waf_logs_only_acted_on_requests_without_credentials(template: dict[str, Any]) -> None:
    assert template["Resources"]["ApiWebAclLogging"]["DependsOn"] == "ApiWebAclLogGroup"
    logging = props(template, "ApiWebAclLogging")
    assert logging["ResourceArn"] == {"Fn::GetAtt": ["ApiWebAcl", "Arn"]}
    (destination,) = logging["LogDestinationConfigs"]
    group = props(template, "ApiWebAclLogGroup")["LogGroupName"]["Fn::Sub"]
    assert group.startswith("aws-waf-logs-") and destination["Fn::Sub"].endswith(":log-group:" + group)
    assert {"SingleHeader": {"Name": "authorization"}} in logging["RedactedFields"]
    assert logging["LoggingFilter"]["DefaultBehavior"] == "DROP"


# -- email events ------------------------------------------------------------------------------------------


def test_ses_bounces_and_complaints_reach_a_queue_for_the_bounce_handler(template: dict[str, Any]) -> None:
    config = props(template, "EmailConfigurationSet")
    assert set(config["SuppressionOptions"]["SuppressedReasons"]) == {"BOUNCE", "COMPLAINT"}
    assert config["ReputationOptions"]["ReputationMetricsEnabled"] is True
    destination = props(template, "EmailConfigurationSetEvents")
    assert destination["ConfigurationSetName"] == {"Ref": "EmailConfigurationSet"}
    assert set(destination["EventDestination"]["MatchingEventTypes"]) == {"bounce", "complaint"}
    assert destination["EventDestination"]["SnsDestination"]["TopicARN"] == {"Ref": "EmailEventsTopic"}
    subscription = props(template, "EmailEventsSubscription")
    assert subscription["Protocol"] == "sqs" and subscription["RawMessageDelivery"] is True
    assert subscription["Endpoint"] == {"Fn::GetAtt": ["EmailEventsQueue", "Arn"]}
    (allow,) = [
        s for s in props(template, "EmailEventsQueuePolicy")["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    assert allow["Principal"] == {"Service": "sns.amazonaws.com"}
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Ref": "EmailEventsTopic"}
    (publish,) = [
        s for s in props(template, "EmailEventsTopicPolicy")["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    assert publish["Principal"] == {"Service": "ses.amazonaws.com"}
    assert publish["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_the_sender_names_the_configuration_set_and_may_use_it(template: dict[str, Any]) -> None:
    variables = props(template, "SendEmailFunction")["Environment"]["Variables"]
    assert variables["CONFIGURATION_SET"] == {"Ref": "EmailConfigurationSet"}
    (send,) = [s for s in statements_of(template, "SendEmailFunction") if "ses:SendEmail" in actions(s)]
    resources_ = [r["Fn::Sub"] for r in as_list(send["Resource"])]
    assert any(r.endswith(":configuration-set/${EmailConfigurationSet}") for r in resources_)
    assert send["Condition"]["StringEquals"]["ses:FromAddress"] == {"Ref": "SenderEmail"}
    holders = {
        f for f in FUNCTIONS if "CONFIGURATION_SET" in props(template, f).get("Environment", {}).get("Variables", {})
    }
    assert holders == {"SendEmailFunction"}


def test_bounce_and_complaint_rates_alarm_below_the_ses_review_levels(template: dict[str, Any]) -> None:
    alarms = {
        a["Properties"].get("MetricName"): a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/SES"
    }
    assert set(alarms) == {"Reputation.BounceRate", "Reputation.ComplaintRate"}
    assert 0 < float(alarms["Reputation.BounceRate"]["Threshold"]) < 0.05
    assert 0 < float(alarms["Reputation.ComplaintRate"]["Threshold"]) < 0.001
    for alarm in alarms.values():
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


# -- checkov ---------------------------------------------------------------------------------------------


def test_every_checkov_skip_says_why(template: dict[str, Any]) -> None:
    skips = 0
    for lid, res in template["Resources"].items():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            skips += 1
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), lid
            assert len(" ".join(str(skip.get("comment", "")).split())) >= 40, f"{lid}: {skip['id']} needs a reason"
    assert skips > 0


def test_s3_access_logs_of_the_photo_bucket_go_to_the_logs_bucket(template: dict[str, Any]) -> None:
    logging = props(template, "PhotoBucket")["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}
    (allow,) = [
        s
        for s in props(template, "AccessLogsBucketPolicy")["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and s.get("Sid") == "PhotoBucketAccessLogs"
    ]
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    source = allow["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert source == "arn:${AWS::Partition}:s3:::" + props(template, "PhotoBucket")["BucketName"]["Fn::Sub"]
    assert "AccessLogsBucketPolicy" in as_list(template["Resources"]["PhotoBucket"]["DependsOn"])
