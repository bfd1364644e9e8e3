"""Each function's IAM policy, enforced by the local AWS.

Policies come from template.yaml, the way SAM builds each function's execution role:
- inline `Policies` documents (`- Statement: [...]`), intrinsics resolved to the local ARNs;
- SAM policy templates (`- AWSSecretsManagerGetSecretValuePolicy: {SecretArn: ...}`), expanded from
  SAM's own `policy_templates.json` (aws-sam-translator, requirements/sam-policies.txt), parameters substituted as SAM
  does;
- the managed policies SAM attaches for event sources: an `SQS` event adds
  AWSLambdaSQSQueueExecutionRole, a `DynamoDB` (stream) event AWSLambdaDynamoDBExecutionRole. Lambda's
  event source mappings poll with the function's execution role, so the local pollers' own calls
  (ReceiveMessage, DeleteMessage, GetRecords... and the stream's OnFailure SendMessage) are
  evaluated against the function's policy too.

Evaluation follows IAM's identity-policy logic: an explicit Deny wins, then any Allow, else an
implicit deny. Action and NotAction (case-insensitive globs), Resource and NotResource (globs), and
Condition operators String*/Arn*/Numeric*/Bool/Null with `ForAllValues:`/`ForAnyValue:` and
`...IfExists`. Context keys: `dynamodb:LeadingKeys` (the partition key values of the request),
`kms:EncryptionContext:<key>`, `kms:EncryptionContextKeys`, `ses:FromAddress`, `s3:prefix`,
`aws:RequestedRegion`, `aws:SecureTransport` (true, as in AWS); a key the local stack cannot know
(`kms:ViaService` on a direct call is genuinely absent) is absent.

Calls without a principal (provisioning, the operator CLI, tests) are allowed. A refused call gets
AccessDenied in its protocol's shape. `PRAKERJA_LOCAL_IAM=off` turns enforcement off.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import json
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree  # nosec B405 # parses only loopback S3 requests of our own clients

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
from infra.local.names import ACCOUNT_ID, physical_name
from infra.local.principal import PRINCIPAL_ENVIRON

log = logging.getLogger("infra.local.iam")
ENV_SWITCH = "PRAKERJA_LOCAL_IAM"
Statement = dict[str, Any]

# AWS managed policies SAM attaches to a function's role for its event sources (their documents).
_LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
MANAGED_POLICIES: dict[str, list[Statement]] = {
    "AWSLambdaBasicExecutionRole": [{"Effect": "Allow", "Action": _LOGS, "Resource": "*"}],
    "AWSLambdaSQSQueueExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", *_LOGS],
            "Resource": "*",
        }
    ],
    "AWSLambdaDynamoDBExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
                *_LOGS,
            ],
            "Resource": "*",
        }
    ],
    "AWSXrayWriteOnlyAccess": [
        {
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSampling*"],
            "Resource": "*",
        }
    ],
}
_EVENT_POLICIES = {"SQS": "AWSLambdaSQSQueueExecutionRole", "DynamoDB": "AWSLambdaDynamoDBExecutionRole"}


class PolicyError(ValueError):
    """A policy the local evaluator cannot evaluate faithfully (the message names it)."""


# -- building each function's policy ----------------------------------------------------------------
SAM_TEMPLATES = "samtranslator/policy_templates_data/policy_templates.json"


def sam_policy_templates() -> dict[str, Any]:
    """SAM's policy templates: aws-sam-translator's policy_templates.json, from the copy `make install`
    puts in `.venv/sam-policies` (requirements/sam-policies.txt) or an importable samtranslator."""
    candidates = [Path(sys.prefix) / "sam-policies" / SAM_TEMPLATES]
    spec = importlib.util.find_spec("samtranslator")
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p).parent / SAM_TEMPLATES for p in spec.submodule_search_locations]
    for path in candidates:
        if path.is_file():
            return dict(json.loads(path.read_text(encoding="utf-8"))["Templates"])
    raise PolicyError("SAM policy templates not found: run `make install` (requirements/sam-policies.txt)")


def expand_policy_template(name: str, parameters: Mapping[str, Any], templates: Mapping[str, Any]) -> list[Statement]:
    """A SAM policy template's statements with its parameters substituted (intrinsics left for the
    resolver: `${AWS::Region}` and friends)."""
    template = templates.get(name)
    if template is None:
        raise PolicyError(f"unknown SAM policy template {name!r}")
    wanted = set((template.get("Parameters") or {}).keys())
    missing = wanted - set(parameters or {})
    if missing:
        raise PolicyError(f"SAM policy template {name} needs {', '.join(sorted(missing))}")
    definition = _substitute(template["Definition"], dict(parameters or {}))
    statements = definition.get("Statement") or []
    return list(statements if isinstance(statements, list) else [statements])


def _substitute(value: Any, parameters: Mapping[str, Any]) -> Any:
    """SAM's parameter substitution: `{"Ref": <param>}` becomes the parameter's value."""
    if isinstance(value, list):
        return [_substitute(v, parameters) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and "Ref" in value and value["Ref"] in parameters:
            return parameters[value["Ref"]]
        return {k: _substitute(v, parameters) for k, v in value.items()}
    return value


@dataclass
class FunctionPolicy:
    logical_id: str
    name: str  # the function's physical name
    statements: list[Statement] = field(default_factory=list)
    enforced: bool = True  # False when the role cannot be known locally (a Role, an unknown managed policy)
    reason: str = ""

    @property
    def role_arn(self) -> str:
        return f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{physical_name(self.logical_id + 'Role')}/{self.name}"


def _role_logical_id(role: Any) -> str | None:
    """`!GetAtt XRole.Arn` (either form) -> "XRole"; anything else (an ARN string, a Ref) -> None."""
    if isinstance(role, dict) and "Fn::GetAtt" in role:
        target = role["Fn::GetAtt"]
        parts = target.split(".", 1) if isinstance(target, str) else list(target)
        return str(parts[0]) if len(parts) == 2 and parts[1] == "Arn" else None
    return None


def _role_statements(
    lid: str, role: Mapping[str, Any], resources: Mapping[str, Mapping[str, Any]], resolve: Callable[[Any], Any]
) -> list[Statement] | str:
    """An explicit AWS::IAM::Role's statements (inline policies + managed policies of the template or
    known AWS managed ones), or the reason it cannot be read locally. SAM adds nothing to such a role."""
    props = role.get("Properties") or {}
    documents: list[Any] = [p.get("PolicyDocument") or {} for p in props.get("Policies") or []]
    for arn in props.get("ManagedPolicyArns") or []:
        ref = arn.get("Ref") if isinstance(arn, dict) else None
        managed = resources.get(str(ref)) if ref else None
        if managed is not None and managed.get("Type") == "AWS::IAM::ManagedPolicy":
            documents.append((managed.get("Properties") or {}).get("PolicyDocument") or {})
            continue
        name = str(resolve(arn)).rsplit("/", 1)[-1]
        if name not in MANAGED_POLICIES:
            return f"{lid}: managed policy {name} is not known locally"
        documents.append({"Statement": MANAGED_POLICIES[name]})
    statements: list[Statement] = []
    for document in documents:
        found = resolve(document.get("Statement") or [])
        statements.extend(found if isinstance(found, list) else [found])
    return statements


def function_policies(
    functions: Mapping[str, Mapping[str, Any]],
    resolve: Callable[[Any], Any],
    templates: Mapping[str, Any] | None = None,
    resources: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, FunctionPolicy]:
    """{logical id: policy} from the template's function resources (`{"Properties": ...}`); `resources`
    (every resource of the template) lets a function's explicit `Role: !GetAtt XRole.Arn` be read."""
    loaded = templates
    result: dict[str, FunctionPolicy] = {}
    for lid, resource in functions.items():
        props = resource.get("Properties") or {}
        policy = FunctionPolicy(lid, physical_name(lid, "AWS::Serverless::Function"))
        result[lid] = policy
        if props.get("Role"):
            role_id = _role_logical_id(props["Role"])
            role = (resources or {}).get(role_id or "")
            if role is None or role.get("Type") != "AWS::IAM::Role":
                policy.enforced, policy.reason = False, "Role is not a role of this template"
                continue
            found = _role_statements(lid, role, resources or {}, resolve)
            if isinstance(found, str):
                policy.enforced, policy.reason = False, found
                continue
            policy.statements = [_checked(lid, s) for s in found]
            continue
        policies = props.get("Policies") or []
        if isinstance(policies, (str, dict)):
            policies = [policies]
        statements: list[Statement] = list(MANAGED_POLICIES["AWSLambdaBasicExecutionRole"])
        for item in policies:
            if isinstance(item, str):
                managed = resolve(item)
                name = str(managed).rsplit("/", 1)[-1]
                if name not in MANAGED_POLICIES:
                    policy.enforced, policy.reason = False, f"managed policy {name} is not known locally"
                    break
                statements.extend(MANAGED_POLICIES[name])
            elif isinstance(item, dict) and "Statement" in item:
                found = resolve(item["Statement"])
                statements.extend(found if isinstance(found, list) else [found])
            elif isinstance(item, dict) and len(item) == 1:
                name, parameters = next(iter(item.items()))
                if loaded is None:
                    loaded = sam_policy_templates()
                statements.extend(resolve(expand_policy_template(name, parameters or {}, loaded)))
            else:
                raise PolicyError(f"{lid}: cannot read Policies item {item!r}")
        for event in (props.get("Events") or {}).values():
            managed_name = _EVENT_POLICIES.get(str((event or {}).get("Type")))
            if managed_name:
                statements.extend(MANAGED_POLICIES[managed_name])
        policy.statements = [_checked(lid, s) for s in statements]
    return result


def _checked(lid: str, statement: Statement) -> Statement:
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise PolicyError(f"{lid}: a statement needs Effect Allow or Deny: {statement!r}")
    if ("Action" in statement) == ("NotAction" in statement):
        raise PolicyError(f"{lid}: a statement needs exactly one of Action / NotAction")
    if ("Resource" in statement) == ("NotResource" in statement):
        raise PolicyError(f"{lid}: a statement needs exactly one of Resource / NotResource")
    for operator in statement.get("Condition") or {}:
        _operator(str(operator))  # unknown operators fail at start, not silently at evaluation
    return statement


# -- evaluation --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Authorization:
    """One thing a call needs: an action on a resource, with the request's condition context."""

    action: str
    resource: str
    context: Mapping[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    explicit_deny: bool = False
    denied: Authorization | None = None


def _glob(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _any_glob(patterns: Iterable[str], value: str, *, ignore_case: bool) -> bool:
    return any(_glob(p, ignore_case=ignore_case).fullmatch(value) for p in patterns)


def _operator(name: str) -> tuple[str, str, bool]:
    """(set qualifier, base operator, if-exists) of a condition operator; raises when unsupported."""
    qualifier, _, base = name.rpartition(":")
    if qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise PolicyError(f"unsupported condition qualifier {qualifier!r}")
    if_exists = base.endswith("IfExists")
    if if_exists:
        base = base[: -len("IfExists")]
    if base not in _MATCHERS:
        raise PolicyError(f"unsupported condition operator {name!r} (supported: {', '.join(sorted(_MATCHERS))})")
    return qualifier, base, if_exists


def _num(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _numeric(test: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def match(actual: str, expected: str) -> bool:
        a, e = _num(actual), _num(expected)
        return a is not None and e is not None and test(a, e)

    return match


_MATCHERS: dict[str, tuple[Callable[[str, str], bool], bool]] = {  # base -> (positive matcher, negated)
    "StringEquals": (lambda a, e: a == e, False),
    "StringNotEquals": (lambda a, e: a == e, True),
    "StringEqualsIgnoreCase": (lambda a, e: a.lower() == e.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda a, e: a.lower() == e.lower(), True),
    "StringLike": (lambda a, e: bool(_glob(e, ignore_case=False).fullmatch(a)), False),
    "StringNotLike": (lambda a, e: bool(_glob(e, ignore_case=False).fullmatch(a)), True),
    "ArnEquals": (lambda a, e: a == e, False),
    "ArnNotEquals": (lambda a, e: a == e, True),
    "ArnLike": (lambda a, e: bool(_glob(e, ignore_case=False).fullmatch(a)), False),
    "ArnNotLike": (lambda a, e: bool(_glob(e, ignore_case=False).fullmatch(a)), True),
    "NumericEquals": (_numeric(lambda a, e: a == e), False),
    "NumericNotEquals": (_numeric(lambda a, e: a == e), True),
    "NumericLessThan": (_numeric(lambda a, e: a < e), False),
    "NumericLessThanEquals": (_numeric(lambda a, e: a <= e), False),
    "NumericGreaterThan": (_numeric(lambda a, e: a > e), False),
    "NumericGreaterThanEquals": (_numeric(lambda a, e: a >= e), False),
    "Bool": (lambda a, e: a.lower() == e.lower(), False),
    "Null": (lambda a, e: True, False),  # handled apart
}


def condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, list[str]]) -> bool:
    qualifier, base, if_exists = _operator(operator)
    values = _as_list(expected)
    actual = context.get(key.lower())
    present = actual is not None and len(actual) > 0
    if base == "Null":
        return any((v.lower() == "true") == (not present) for v in values)
    if not present:
        if qualifier == "ForAllValues":
            return True  # IAM: an absent (empty) set satisfies ForAllValues
        if qualifier == "ForAnyValue":
            return False
        return if_exists or _MATCHERS[base][1]
    if actual is None:  # handled above: a missing key matched or failed already
        return False
    test, negated = _MATCHERS[base]

    def matches(value: str) -> bool:
        hit = any(test(value, e) for e in values)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(matches(v) for v in actual)
    if qualifier == "ForAnyValue":
        return any(matches(v) for v in actual)
    if negated:
        return all(matches(v) for v in actual)
    return any(matches(v) for v in actual)


def statement_applies(statement: Statement, request: Authorization) -> bool:
    if "Action" in statement:
        if not _any_glob(_as_list(statement["Action"]), request.action, ignore_case=True):
            return False
    elif _any_glob(_as_list(statement["NotAction"]), request.action, ignore_case=True):
        return False
    if "Resource" in statement:
        if not _any_glob(_as_list(statement["Resource"]), request.resource, ignore_case=False):
            return False
    elif _any_glob(_as_list(statement["NotResource"]), request.resource, ignore_case=False):
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, expected in (keys or {}).items():
            if not condition_holds(str(operator), str(key), expected, request.context):
                return False
    return True


def evaluate(statements: Iterable[Statement], requests: Iterable[Authorization]) -> Verdict:
    """Identity-policy evaluation of every authorization a call needs (all must be allowed)."""
    statements = list(statements)
    for request in requests:
        applicable = [s for s in statements if statement_applies(s, request)]
        if any(s["Effect"] == "Deny" for s in applicable):
            return Verdict(False, True, request)
        if not any(s["Effect"] == "Allow" for s in applicable):
            return Verdict(False, False, request)
    return Verdict(True)


# -- what a call needs -------------------------------------------------------------------------------
class Resources:
    """Local ARNs of what a request names (some need moto's state: KMS aliases, secret names...)."""

    def __init__(self, region: str, lock: threading.Lock | None = None) -> None:
        self.region = region
        self._lock = lock or threading.Lock()
        self._hash_keys: dict[str, str | None] = {}

    def table_arn(self, table: str) -> str:
        return table if table.startswith("arn:") else f"arn:aws:dynamodb:{self.region}:{ACCOUNT_ID}:table/{table}"

    def hash_key(self, table: str) -> str | None:
        name = table.rsplit("/", 1)[-1]
        if name not in self._hash_keys:
            from moto.dynamodb.models import dynamodb_backends

            try:
                with self._lock:
                    found: str | None = dynamodb_backends[ACCOUNT_ID][self.region].get_table(name).hash_key_attr
            except Exception:
                return None
            self._hash_keys[name] = found
        return self._hash_keys[name]

    def queue_arn(self, queue_url_or_name: str) -> str:
        name = queue_url_or_name.rstrip("/").rsplit("/", 1)[-1]
        return f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{name}"

    def key_arn(self, key_id: str | None, ciphertext_b64: str | None = None) -> str:
        from moto.kms.models import kms_backends

        raw_id = key_id
        if not raw_id and ciphertext_b64:
            raw_id = _ciphertext_key_id(ciphertext_b64)
        if not raw_id:
            return "*"
        try:
            with self._lock:
                raw_id = kms_backends[ACCOUNT_ID][self.region].any_id_to_key_id(raw_id)
        except Exception:
            raw_id = raw_id.rsplit("/", 1)[-1]
        return f"arn:aws:kms:{self.region}:{ACCOUNT_ID}:key/{raw_id}"

    def secret_arn(self, secret_id: str) -> str:
        from moto.secretsmanager.models import secretsmanager_backends

        try:
            with self._lock:
                return str(secretsmanager_backends[ACCOUNT_ID][self.region].describe_secret(secret_id).arn)
        except Exception:
            if secret_id.startswith("arn:"):
                return secret_id
            return f"arn:aws:secretsmanager:{self.region}:{ACCOUNT_ID}:secret:{secret_id}"


def _ciphertext_key_id(blob_b64: str) -> str | None:
    try:
        from moto.kms.utils import _deserialize_ciphertext_blob

        return str(_deserialize_ciphertext_blob(base64.b64decode(blob_b64)).key_id)
    except (binascii.Error, ValueError, TypeError, ImportError, Exception):  # noqa: BLE001 - not a moto blob
        return None


def _attr_value(value: Any) -> str | None:
    """The string form of a DynamoDB AttributeValue ({"S": ...}, {"N": ...}, {"B": ...})."""
    if isinstance(value, dict) and len(value) == 1:
        kind, inner = next(iter(value.items()))
        if kind in ("S", "N", "B"):
            return str(inner)
    return None


_EQUALITY = re.compile(r"(#?[\w.]+)\s*=\s*(:[\w]+)|(:[\w]+)\s*=\s*(#?[\w.]+)")


def query_leading_keys(params: Mapping[str, Any], hash_key: str | None) -> list[str]:
    """The partition key value a Query names (KeyConditionExpression or legacy KeyConditions)."""
    names = params.get("ExpressionAttributeNames") or {}
    values = params.get("ExpressionAttributeValues") or {}
    expression = params.get("KeyConditionExpression")
    found: list[str] = []
    if isinstance(expression, str):
        for match in _EQUALITY.finditer(expression):
            attribute = match.group(1) or match.group(4)
            placeholder = match.group(2) or match.group(3)
            attribute = names.get(attribute, attribute)
            if hash_key is None or attribute == hash_key or params.get("IndexName"):
                value = _attr_value(values.get(placeholder))
                if value is not None:
                    found.append(value)
                    break
    for attribute, condition in (params.get("KeyConditions") or {}).items():
        if (hash_key is None or attribute == hash_key) and (condition or {}).get("ComparisonOperator") == "EQ":
            value = _attr_value(((condition or {}).get("AttributeValueList") or [None])[0])
            if value is not None:
                found.append(value)
    return found


class CallAuthorizer:
    """Turns one AWS call into the authorizations IAM checks for it."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.region = resources.region

    def authorizations(self, call: AwsCall, environ: dict[str, Any]) -> list[Authorization]:
        base = {"aws:requestedregion": [self.region], "aws:securetransport": ["true"]}
        handler = getattr(self, f"_{call.service}", None)
        if handler is None:
            return [Authorization(f"{call.service}:{call.operation}", "*", base)]
        found: list[Authorization] = handler(call, environ, base)
        return found

    # DynamoDB: transactions and batches are authorised item by item (TransactWriteItems needs
    # PutItem/UpdateItem/DeleteItem/ConditionCheckItem; BatchGetItem needs BatchGetItem per table).
    def _ddb_item(self, action: str, table: str, key: Any, base: Mapping[str, list[str]]) -> Authorization:
        hash_key = self.resources.hash_key(table)
        value = _attr_value((key or {}).get(hash_key)) if hash_key and isinstance(key, dict) else None
        context = {**base, "dynamodb:leadingkeys": [value]} if value is not None else dict(base)
        return Authorization(f"dynamodb:{action}", self.resources.table_arn(table), context)

    def _dynamodb(self, call: AwsCall, environ: dict[str, Any], base: Mapping[str, list[str]]) -> list[Authorization]:
        p, op = call.params, call.operation
        if op in ("GetItem", "DeleteItem", "UpdateItem"):
            return [self._ddb_item(op, str(p.get("TableName", "")), p.get("Key"), base)]
        if op == "PutItem":
            return [self._ddb_item(op, str(p.get("TableName", "")), p.get("Item"), base)]
        if op == "TransactWriteItems":
            kinds = {"Put": ("PutItem", "Item"), "Update": ("UpdateItem", "Key"), "Delete": ("DeleteItem", "Key")}
            kinds["ConditionCheck"] = ("ConditionCheckItem", "Key")
            found = []
            for item in p.get("TransactItems") or []:
                for kind, body in (item or {}).items():
                    if kind in kinds:
                        action, key_field = kinds[kind]
                        found.append(self._ddb_item(action, str(body.get("TableName", "")), body.get(key_field), base))
            return found
        if op == "TransactGetItems":
            return [
                self._ddb_item("GetItem", str(i["Get"].get("TableName", "")), i["Get"].get("Key"), base)
                for i in p.get("TransactItems") or []
                if isinstance(i, dict) and isinstance(i.get("Get"), dict)
            ]
        if op in ("BatchGetItem", "BatchWriteItem"):
            found = []
            for table, request in (p.get("RequestItems") or {}).items():
                hash_key = self.resources.hash_key(table)
                keys = request.get("Keys") if isinstance(request, dict) else None
                if keys is None and isinstance(request, list):
                    keys = [
                        (w.get("PutRequest") or {}).get("Item") or (w.get("DeleteRequest") or {}).get("Key")
                        for w in request
                        if isinstance(w, dict)
                    ]
                leading = sorted(
                    {v for k in keys or [] if (v := _attr_value((k or {}).get(hash_key or ""))) is not None}
                )
                context = {**base, "dynamodb:leadingkeys": leading} if leading else dict(base)
                found.append(Authorization(f"dynamodb:{op}", self.resources.table_arn(table), context))
            return found
        table = str(p.get("TableName") or "")
        resource = self.resources.table_arn(table) if table else "*"
        if table and p.get("IndexName"):
            resource = f"{resource}/index/{p['IndexName']}"
        context = dict(base)
        if op == "Query":
            leading = query_leading_keys(p, self.resources.hash_key(table) if table else None)
            if leading:
                context["dynamodb:leadingkeys"] = leading
        return [Authorization(f"dynamodb:{op}", resource, context)]

    def _dynamodbstreams(
        self, call: AwsCall, environ: dict[str, Any], base: Mapping[str, list[str]]
    ) -> list[Authorization]:
        p = call.params
        resource = str(p.get("StreamArn") or str(p.get("ShardIterator") or "").split("|", 1)[0] or "*")
        if not resource.startswith("arn:"):
            resource = "*"
        return [Authorization(f"dynamodb:{call.operation}", resource, base)]

    def _sqs(self, call: AwsCall, environ: dict[str, Any], base: Mapping[str, list[str]]) -> list[Authorization]:
        p = call.params
        action = call.operation.removesuffix("Batch") if call.operation.endswith("MessageBatch") else call.operation
        if action == "ChangeMessageVisibilityBatch":
            action = "ChangeMessageVisibility"
        target = p.get("QueueUrl") or p.get("QueueName")
        resource = self.resources.queue_arn(str(target)) if target else "*"
        return [Authorization(f"sqs:{action}", resource, base)]

    def _kms(self, call: AwsCall, environ: dict[str, Any], base: Mapping[str, list[str]]) -> list[Authorization]:
        p = call.params
        key = p.get("KeyId") or p.get("SourceKeyId")
        resource = self.resources.key_arn(str(key) if key else None, p.get("CiphertextBlob"))
        context = dict(base)
        encryption_context = p.get("EncryptionContext") or p.get("SourceEncryptionContext") or {}
        if isinstance(encryption_context, dict) and encryption_context:
            context["kms:encryptioncontextkeys"] = sorted(str(k) for k in encryption_context)
            for k, v in encryption_context.items():
                context[f"kms:encryptioncontext:{str(k).lower()}"] = [str(v)]
        if p.get("MacAlgorithm"):  # GenerateMac / VerifyMac
            context["kms:macalgorithm"] = [str(p["MacAlgorithm"])]
        return [Authorization(f"kms:{call.operation}", resource, context)]

    def _secretsmanager(
        self, call: AwsCall, environ: dict[str, Any], base: Mapping[str, list[str]]
    ) -> list[Authorization]:
        secret = call.params.get("SecretId")
        resource = self.resources.secret_arn(str(secret)) if secret else "*"
        return [Authorization(f"secretsmanager:{call.operation}", resource, base)]

    def _ses(self, call: AwsCall, environ: dict[str, Any], base: Mapping[str, list[str]]) -> list[Authorization]:
        p = call.params
        context = dict(base)
        source = p.get("Source") or p.get("FromEmailAddress") or ""
        address = _address(str(source))
        if address:
            context["ses:fromaddress"] = [address]
        resource = f"arn:aws:ses:{self.region}:{ACCOUNT_ID}:identity/{address}" if address else "*"
        return [Authorization(f"ses:{call.operation}", resource, context)]

    def _s3(self, call: AwsCall, environ: dict[str, Any], base: Mapping[str, list[str]]) -> list[Authorization]:
        bucket_arn = f"arn:aws:s3:::{call.bucket}"
        object_actions = {
            "GetObject": "GetObject",
            "HeadObject": "GetObject",
            "PutObject": "PutObject",
            "CopyObject": "PutObject",
            "CreateMultipartUpload": "PutObject",
            "CompleteMultipartUpload": "PutObject",
            "DeleteObject": "DeleteObject",
        }
        if call.operation in object_actions:
            return [Authorization(f"s3:{object_actions[call.operation]}", f"{bucket_arn}/{call.key}", base)]
        if call.operation in ("ListObjects", "ListObjectsV2", "HeadBucket"):
            context = dict(base)
            prefix = re.search(r"(?:^|&)prefix=([^&]*)", environ.get("QUERY_STRING") or "")
            if prefix:
                from urllib.parse import unquote

                context["s3:prefix"] = [unquote(prefix.group(1))]
            return [Authorization("s3:ListBucket", bucket_arn, context)]
        if call.operation == "DeleteObjects":
            keys = _delete_keys(read_body(environ))
            return [Authorization("s3:DeleteObject", f"{bucket_arn}/{k}", base) for k in keys] or [
                Authorization("s3:DeleteObject", f"{bucket_arn}/*", base)
            ]
        if call.operation == "ListBuckets":
            return [Authorization("s3:ListAllMyBuckets", "*", base)]
        return [Authorization(f"s3:{call.operation}", bucket_arn, base)]


def _address(source: str) -> str:
    match = re.search(r"<([^>]+)>", source)
    return (match.group(1) if match else source).strip()


def _delete_keys(body: bytes) -> list[str]:
    try:
        root = ElementTree.fromstring(body)  # noqa: S314  # nosec B314 # loopback request from our own client
    except ElementTree.ParseError:
        return []
    return [el.text or "" for el in root.iter() if el.tag.endswith("Key") and not el.tag.endswith("VersionId")]


# -- the middleware ----------------------------------------------------------------------------------
def denial(call: AwsCall, policy: FunctionPolicy | None, verdict: Verdict, principal: str) -> ErrorReply:
    request = verdict.denied
    action = request.action if request else f"{call.service}:{call.operation}"
    resource = request.resource if request else "*"
    who = policy.role_arn if policy else f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/unknown/{principal}"
    why = (
        "with an explicit deny in an identity-based policy"
        if verdict.explicit_deny
        else f"because no identity-based policy allows the {action} action"
    )
    message = f"User: {who} is not authorized to perform: {action} on resource: {resource} {why}"
    if call.protocol == "query":
        return query_error(call, "AccessDenied", message, status=403)
    if call.protocol == "rest-xml":
        return s3_error("AccessDenied", message, status=403)
    if call.service == "sqs":
        return json_error(
            call,
            "AccessDeniedException",
            message,
            status=403,
            type_prefix="com.amazon.coral.service#",
            query_code="AccessDenied",
        )
    prefix = "com.amazon.coral.service#" if call.service in ("dynamodb", "dynamodbstreams") else ""
    return json_error(call, "AccessDeniedException", message, status=400, type_prefix=prefix)


class IamEnforcer:
    """WSGI middleware in front of moto: evaluates each call that names a principal."""

    def __init__(self, app: WsgiApp, region: str, lock: threading.Lock | None = None) -> None:
        self._app = app
        self.policies: dict[str, FunctionPolicy] = {}
        self.authorizer = CallAuthorizer(Resources(region, lock))
        self.denied = 0

    def set_policies(self, policies: Mapping[str, FunctionPolicy]) -> None:
        self.policies = dict(policies)
        for policy in self.policies.values():
            if not policy.enforced:
                log.warning(
                    "IAM not enforced for a function", extra={"function": policy.logical_id, "reason": policy.reason}
                )

    def check(self, principal: str, call: AwsCall, environ: dict[str, Any]) -> Verdict:
        policy = self.policies.get(principal)
        if policy is None:
            return Verdict(False)
        if not policy.enforced:
            return Verdict(True)
        return evaluate(policy.statements, self.authorizer.authorizations(call, environ))

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        principal = environ.get(PRINCIPAL_ENVIRON)
        if not principal:
            return self._app(environ, start_response)
        call = describe(environ)
        if call is None:
            rewind(environ)
            return self._app(environ, start_response)
        verdict = self.check(str(principal), call, environ)
        rewind(environ)
        if verdict.allowed:
            return self._app(environ, start_response)
        self.denied += 1
        log.warning(
            "IAM denied a call",
            extra={
                "function": principal,
                "action": verdict.denied.action if verdict.denied else call.operation,
                "resource": verdict.denied.resource if verdict.denied else "*",
                "explicit_deny": verdict.explicit_deny,
            },
        )
        return send(denial(call, self.policies.get(str(principal)), verdict, str(principal)), start_response)


def enforcement_on(environ: Mapping[str, str]) -> bool:
    value = environ.get(ENV_SWITCH, "on").strip().lower()
    if value not in ("on", "off", "1", "0", "true", "false", ""):
        raise PolicyError(f"{ENV_SWITCH} must be 'on' or 'off', got {value!r}")
    return value not in ("off", "0", "false")
