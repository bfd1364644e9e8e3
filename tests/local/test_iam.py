"""The local IAM evaluator: policies from the template (SAM templates expanded), what each call
needs, IAM's evaluation rules, and AccessDenied in each protocol's real shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from infra.local.awswire import AwsCall
from infra.local.iam import (
    Authorization,
    CallAuthorizer,
    FunctionPolicy,
    PolicyError,
    Resources,
    enforcement_on,
    evaluate,
    expand_policy_template,
    function_policies,
    query_leading_keys,
    sam_policy_templates,
)
from infra.local.intrinsics import Resolver
from infra.local.moto_server import MotoServer
from infra.local.names import ACCOUNT_ID
from infra.local.overrides import parameter_values
from infra.local.principal import acting_as, register
from infra.local.provision import ResourceValues
from infra.local.template import SERVERLESS_FUNCTION, load_template

REGION = "ap-southeast-3"
ROOT = Path(__file__).resolve().parents[2]
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/prakerja-local-RegistrationsTable"


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def ask(action: str, resource: str = TABLE, **context: list[str]) -> Authorization:
    return Authorization(action, resource, {k.lower(): v for k, v in context.items()})


def allowed(statements: list[dict[str, Any]], *requests: Authorization) -> bool:
    return evaluate(statements, requests).allowed


# -- evaluation --------------------------------------------------------------------------------------
def test_action_wildcards_are_case_insensitive_and_exact_otherwise():
    policy = [allow(["dynamodb:Get*", "sqs:sendmessage"])]
    assert allowed(policy, ask("dynamodb:GetItem"))
    assert allowed(policy, ask("sqs:SendMessage", "*"))
    assert not allowed(policy, ask("dynamodb:PutItem"))
    assert not allowed(policy, ask("sqs:SendMessageX", "*"))


def test_resources_match_the_arn_and_its_wildcards_only():
    policy = [allow("dynamodb:Query", TABLE)]
    assert allowed(policy, ask("dynamodb:Query"))
    assert not allowed(policy, ask("dynamodb:Query", TABLE + "/index/ByEmail"))  # an index is its own resource
    assert not allowed(policy, ask("dynamodb:Query", TABLE.replace("Registrations", "Other")))
    assert allowed([allow("dynamodb:Query", TABLE + "/index/*")], ask("dynamodb:Query", TABLE + "/index/ByEmail"))
    assert allowed(
        [allow("s3:GetObject", "arn:aws:s3:::b/uploads/*")], ask("s3:GetObject", "arn:aws:s3:::b/uploads/x/y")
    )
    assert not allowed(
        [allow("s3:GetObject", "arn:aws:s3:::b/uploads/*")], ask("s3:GetObject", "arn:aws:s3:::b/photos/x")
    )


def test_nothing_allowed_is_denied_and_an_explicit_deny_wins():
    assert not allowed([], ask("dynamodb:GetItem"))
    verdict = evaluate([allow("dynamodb:*"), deny("dynamodb:DeleteItem")], [ask("dynamodb:DeleteItem")])
    assert not verdict.allowed and verdict.explicit_deny
    assert allowed([allow("dynamodb:*"), deny("dynamodb:DeleteItem")], ask("dynamodb:PutItem"))


def test_not_action_and_not_resource():
    assert allowed([{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}], ask("sqs:SendMessage", "*"))
    assert not allowed([{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}], ask("s3:GetObject", "*"))
    policy = [{"Effect": "Allow", "Action": "dynamodb:*", "NotResource": TABLE}]
    assert not allowed(policy, ask("dynamodb:GetItem"))
    assert allowed(policy, ask("dynamodb:GetItem", TABLE + "2"))


def test_every_authorization_of_a_call_must_be_allowed():
    policy = [allow(["dynamodb:PutItem", "dynamodb:ConditionCheckItem"], TABLE)]
    assert allowed(policy, ask("dynamodb:PutItem"), ask("dynamodb:ConditionCheckItem"))
    verdict = evaluate(policy, [ask("dynamodb:PutItem"), ask("dynamodb:UpdateItem")])
    assert not verdict.allowed and verdict.denied == ask("dynamodb:UpdateItem")


LOGIN_ONLY = allow(
    "dynamodb:DeleteItem", TABLE, Condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["LOGIN#*"]}}
)


def test_leading_keys_for_all_values():
    assert allowed([LOGIN_ONLY], ask("dynamodb:DeleteItem", **{"dynamodb:LeadingKeys": ["LOGIN#abc"]}))
    assert not allowed([LOGIN_ONLY], ask("dynamodb:DeleteItem", **{"dynamodb:LeadingKeys": ["REG#abc"]}))
    assert not allowed([LOGIN_ONLY], ask("dynamodb:DeleteItem", **{"dynamodb:LeadingKeys": ["LOGIN#a", "REG#b"]}))
    # IAM's rule: ForAllValues over an absent key is true (a Scan names no partition key)
    assert allowed([LOGIN_ONLY], ask("dynamodb:DeleteItem"))


def test_string_equals_leading_keys_and_for_any_value():
    exact = allow("dynamodb:GetItem", TABLE, Condition={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": "A"}})
    assert allowed([exact], ask("dynamodb:GetItem", **{"dynamodb:LeadingKeys": ["A"]}))
    assert not allowed([exact], ask("dynamodb:GetItem", **{"dynamodb:LeadingKeys": ["A*"]}))
    anyof = allow("dynamodb:GetItem", TABLE, Condition={"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": "NIK#*"}})
    assert allowed([anyof], ask("dynamodb:GetItem", **{"dynamodb:LeadingKeys": ["REG#1", "NIK#2"]}))
    assert not allowed([anyof], ask("dynamodb:GetItem"))  # ForAnyValue over nothing is false


def test_kms_conditions_via_service_and_encryption_context():
    via = allow("kms:Decrypt", Condition={"StringEquals": {"kms:ViaService": "dynamodb.ap-southeast-3.amazonaws.com"}})
    assert not allowed([via], ask("kms:Decrypt", "*"))  # a direct call has no kms:ViaService
    bound = allow("kms:Decrypt", Condition={"Null": {"kms:EncryptionContext:registration_id": "false"}})
    assert allowed([bound], ask("kms:Decrypt", "*", **{"kms:EncryptionContext:registration_id": ["r-1"]}))
    assert not allowed([bound], ask("kms:Decrypt", "*"))
    if_exists = allow("kms:Decrypt", Condition={"StringEqualsIfExists": {"kms:ViaService": "x"}})
    assert allowed([if_exists], ask("kms:Decrypt", "*"))
    negated = allow("ses:SendEmail", Condition={"StringNotEquals": {"ses:FromAddress": "evil@x"}})
    assert allowed([negated], ask("ses:SendEmail", "*", **{"ses:FromAddress": ["no-reply@x"]}))
    assert not allowed([negated], ask("ses:SendEmail", "*", **{"ses:FromAddress": ["evil@x"]}))


def test_unsupported_condition_operators_fail_loudly():
    bad = {
        "Type": SERVERLESS_FUNCTION,
        "Properties": {
            "Policies": [{"Statement": [allow("s3:*", Condition={"DateGreaterThan": {"aws:CurrentTime": "x"}})]}]
        },
    }
    with pytest.raises(PolicyError, match="DateGreaterThan"):
        function_policies({"F": bad}, lambda v: v, {})


# -- what a call needs -------------------------------------------------------------------------------
class KnownKeys(Resources):
    def hash_key(self, table: str) -> str | None:
        return "pk"


AUTH = CallAuthorizer(KnownKeys(REGION))


def needs(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    found = AUTH.authorizations(AwsCall(service, operation, "json", params), {})
    return [(a.action, a.resource, list(a.context.get("dynamodb:leadingkeys", []))) for a in found]


def test_transactions_are_authorised_item_by_item_with_their_partition_keys():
    items = [
        {"Put": {"TableName": "T", "Item": {"pk": {"S": "REG#1"}, "sk": {"S": "REG"}}}},
        {"Update": {"TableName": "T", "Key": {"pk": {"S": "EMAIL#h"}, "sk": {"S": "EMAIL"}}}},
        {"ConditionCheck": {"TableName": "T", "Key": {"pk": {"S": "NIK#x"}, "sk": {"S": "NIK"}}}},
        {"Delete": {"TableName": "T", "Key": {"pk": {"S": "LOGIN#y"}, "sk": {"S": "LOGIN"}}}},
    ]
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/T"
    assert needs("dynamodb", "TransactWriteItems", {"TransactItems": items}) == [
        ("dynamodb:PutItem", arn, ["REG#1"]),
        ("dynamodb:UpdateItem", arn, ["EMAIL#h"]),
        ("dynamodb:ConditionCheckItem", arn, ["NIK#x"]),
        ("dynamodb:DeleteItem", arn, ["LOGIN#y"]),
    ]
    got = needs(
        "dynamodb", "TransactGetItems", {"TransactItems": [{"Get": {"TableName": "T", "Key": {"pk": {"S": "A"}}}}]}
    )
    assert got == [("dynamodb:GetItem", arn, ["A"])]


def test_batches_queries_and_indexes():
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/T"
    batch = {"RequestItems": {"T": {"Keys": [{"pk": {"S": "B"}}, {"pk": {"S": "A"}}, {"pk": {"S": "A"}}]}}}
    assert needs("dynamodb", "BatchGetItem", batch) == [("dynamodb:BatchGetItem", arn, ["A", "B"])]
    writes = {
        "RequestItems": {
            "T": [{"PutRequest": {"Item": {"pk": {"S": "P"}}}}, {"DeleteRequest": {"Key": {"pk": {"N": "7"}}}}]
        }
    }
    assert needs("dynamodb", "BatchWriteItem", writes) == [("dynamodb:BatchWriteItem", arn, ["7", "P"])]
    query = {
        "TableName": "T",
        "KeyConditionExpression": "#p = :v AND begins_with(sk, :s)",
        "ExpressionAttributeNames": {"#p": "pk"},
        "ExpressionAttributeValues": {":v": {"S": "BATCH#1"}, ":s": {"S": "SEAT#"}},
    }
    assert needs("dynamodb", "Query", query) == [("dynamodb:Query", arn, ["BATCH#1"])]
    assert needs("dynamodb", "Query", {**query, "IndexName": "ByX"})[0][1] == arn + "/index/ByX"
    assert needs("dynamodb", "Scan", {"TableName": "T"}) == [("dynamodb:Scan", arn, [])]
    assert query_leading_keys(
        {"KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "K"}]}}}, "pk"
    ) == ["K"]


def test_sqs_batches_need_the_single_message_actions_on_the_queue_arn():
    url = "http://127.0.0.1:5000/123456789012/prakerja-local-NikQueue"
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:prakerja-local-NikQueue"
    assert needs("sqs", "DeleteMessageBatch", {"QueueUrl": url}) == [("sqs:DeleteMessage", arn, [])]
    assert needs("sqs", "ChangeMessageVisibilityBatch", {"QueueUrl": url}) == [("sqs:ChangeMessageVisibility", arn, [])]
    assert needs("sqs", "SendMessage", {"QueueUrl": url}) == [("sqs:SendMessage", arn, [])]


# -- policies from the template ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def template_policies() -> dict[str, FunctionPolicy]:
    template = load_template(ROOT / "template.yaml")
    values = ResourceValues(template, REGION, 5999)
    resolver = Resolver(template, parameter_values(template.parameters, 3100), values.lookup, region=REGION)
    return function_policies(template.of_type(SERVERLESS_FUNCTION), resolver.resolve, resources=template.resources)


def test_sam_policy_templates_expand_like_sam():
    statements = expand_policy_template("SQSPollerPolicy", {"QueueName": "q"}, sam_policy_templates())
    assert "sqs:ReceiveMessage" in statements[0]["Action"]
    assert statements[0]["Resource"] == {
        "Fn::Sub": ["arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${queueName}", {"queueName": "q"}]
    }
    with pytest.raises(PolicyError, match="QueueName"):
        expand_policy_template("SQSPollerPolicy", {}, sam_policy_templates())


def test_template_functions_get_their_statements_templates_and_event_source_permissions(template_policies):
    # Every function has an explicit role (<Function>Role): its inline and managed policies are read.
    assert all(p.enforced for p in template_policies.values()), {k: p.reason for k, p in template_policies.items()}
    check_nik = template_policies["CheckNikFunction"]
    secret_arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:prakerja-local-TokenSigningSecret"
    assert not evaluate(check_nik.statements, [ask("secretsmanager:GetSecretValue", secret_arn)]).allowed
    verify_email = template_policies["VerifyEmailFunction"]
    assert any("secretsmanager:GetSecretValue" in str(s.get("Action")) for s in verify_email.statements)
    nik_queue = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:prakerja-local-NikQueue"
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"):
        assert evaluate(check_nik.statements, [ask(action, nik_queue)]).allowed, action
    assert not evaluate(check_nik.statements, [ask("sqs:SendMessage", nik_queue.replace("Nik", "Email"))]).allowed
    relay = template_policies["OutboxRelayFunction"]
    stream = next(st for st in relay.statements if "dynamodb:GetRecords" in st["Action"])["Resource"]
    assert evaluate(relay.statements, [ask("dynamodb:GetRecords", str(stream))]).allowed
    assert not evaluate(
        relay.statements, [ask("dynamodb:GetRecords", TABLE.replace("Registrations", "Other") + "/stream/x")]
    ).allowed
    assert not evaluate(relay.statements, [ask("dynamodb:DeleteItem", TABLE)]).allowed
    health = template_policies["HealthFunction"]
    assert not evaluate(health.statements, [ask("dynamodb:GetItem", TABLE)]).allowed


def test_the_switch():
    assert enforcement_on({}) and enforcement_on({"PRAKERJA_LOCAL_IAM": "on"})
    assert not enforcement_on({"PRAKERJA_LOCAL_IAM": "off"})
    with pytest.raises(PolicyError):
        enforcement_on({"PRAKERJA_LOCAL_IAM": "maybe"})


# -- AccessDenied on the wire, parsed by botocore -----------------------------------------------------
@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PRAKERJA_LOCAL_IAM", raising=False)
        mp.delenv("PRAKERJA_LOCAL_FAULTS", raising=False)
        moto = MotoServer(0, REGION)
        moto.start()
    assert moto.iam is not None
    q = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:allowed-queue"
    moto.iam.set_policies(
        {
            "Fn": FunctionPolicy(
                "Fn",
                "prakerja-local-Fn",
                [
                    allow(["sqs:SendMessage", "sqs:GetQueueUrl"], q),
                    allow(
                        "dynamodb:PutItem",
                        f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/t",
                        Condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": "OK#*"}},
                    ),
                ],
            )
        }
    )
    yield moto
    moto.stop()


def client(server: MotoServer, service: str) -> Any:
    return register(
        boto3.session.Session().client(  # type: ignore[call-overload]
            service,
            region_name=REGION,
            endpoint_url=server.url,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
    )


def denied(call: Any) -> dict[str, Any]:
    with acting_as("Fn"), pytest.raises(ClientError) as caught:
        call()
    return dict(caught.value.response)


def test_denied_calls_get_the_protocols_access_denied_and_do_nothing(server: MotoServer):
    sqs, ddb, ses, kms, s3 = (client(server, s) for s in ("sqs", "dynamodb", "ses", "kms", "s3"))
    other = sqs.create_queue(QueueName="other-queue")["QueueUrl"]
    sqs.create_queue(QueueName="allowed-queue")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    s3.create_bucket(Bucket="iam-test-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})

    r = denied(lambda: sqs.send_message(QueueUrl=other, MessageBody="x"))
    assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    assert "sqs:SendMessage on resource: arn:aws:sqs:" in r["Error"]["Message"]
    assert "Messages" not in sqs.receive_message(QueueUrl=other)  # nothing was sent

    r = denied(lambda: ddb.put_item(TableName="t", Item={"pk": {"S": "NO#1"}}))
    assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDeniedException", 400)
    assert "assumed-role/prakerja-local-FnRole/prakerja-local-Fn" in r["Error"]["Message"]
    assert "Item" not in ddb.get_item(TableName="t", Key={"pk": {"S": "NO#1"}})

    r = denied(
        lambda: ses.send_email(
            Source="a@x.test",
            Destination={"ToAddresses": ["b@x.test"]},
            Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}},
        )
    )
    assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)

    key = kms.create_key()["KeyMetadata"]["KeyId"]
    r = denied(lambda: kms.encrypt(KeyId=key, Plaintext=b"x"))
    assert r["Error"]["Code"] == "AccessDeniedException"
    assert f"key/{key}" in r["Error"]["Message"]

    r = denied(lambda: s3.get_object(Bucket="iam-test-bucket", Key="k"))
    assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)


def test_allowed_calls_and_calls_without_a_principal_go_through(server: MotoServer):
    sqs, ddb = client(server, "sqs"), client(server, "dynamodb")
    with acting_as("Fn"):
        url = sqs.get_queue_url(QueueName="allowed-queue")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        ddb.put_item(TableName="t", Item={"pk": {"S": "OK#1"}})
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "OK#1"}})["Item"]
    ddb.put_item(TableName="t", Item={"pk": {"S": "NO#2"}})  # no principal: the operator, a test
    r = denied(lambda: sqs.receive_message(QueueUrl=url))  # not in Fn's policy
    assert r["Error"]["Code"] == "AccessDenied"
    with acting_as("Unknown"), pytest.raises(ClientError):
        sqs.send_message(QueueUrl=url, MessageBody="x")  # a principal the template does not know


def test_pollers_call_as_their_function(server: MotoServer):
    from infra.local.principal import ActingClient

    sqs = client(server, "sqs")
    url = sqs.get_queue_url(QueueName="allowed-queue")["QueueUrl"]
    poller = ActingClient(sqs, "Fn")  # what the stack hands the SQS poller of function Fn
    poller.send_message(QueueUrl=url, MessageBody="allowed")
    with pytest.raises(ClientError, match="AccessDenied"):
        poller.receive_message(QueueUrl=url)  # Fn's policy has no sqs:ReceiveMessage (no SQS event)
    assert sqs.receive_message(QueueUrl=url)["Messages"]  # the same client, without a principal
