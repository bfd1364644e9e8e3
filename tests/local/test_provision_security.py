"""The project's own template.yaml provisioned into an in-process moto: the security and email
resources issue 10 added (per-purpose secrets on a customer-managed key, the KMS HMAC key of NIK
fingerprints, the SES configuration set and its bounce/complaint topic -> queue) exist locally and
work the way the functions will use them; what moto cannot run (WAF, IAM, alarms) is skipped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.functions import function_specs, merged_environment
from infra.local.intrinsics import Resolver
from infra.local.names import DEFAULT_TEMPLATE
from infra.local.overrides import parameter_values
from infra.local.provision import PROVISIONED_TYPES, Provisioner, ResourceValues
from infra.local.template import load_template

REGION = "ap-southeast-3"


class Provisioned:
    def __init__(self) -> None:
        self.template = load_template(DEFAULT_TEMPLATE)
        self.values = ResourceValues(self.template, REGION, 5000)
        self.resolver = Resolver(
            self.template, parameter_values(self.template.parameters, 3100), self.values.lookup, region=REGION
        )
        self._clients: dict[str, Any] = {}
        self.provisioner = Provisioner(self.template, self.resolver, self.values, REGION, self.client, {})
        self.provisioner.provision_all()
        self.environment = merged_environment(function_specs(self.template, self.resolver), {})

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=REGION)
        return self._clients[service]

    def created(self, logical_id: str) -> dict[str, Any]:
        return self.values.created[logical_id]


@pytest.fixture(scope="module")
def stack() -> Iterator[Provisioned]:
    with mock_aws():
        yield Provisioned()


def test_every_resource_of_a_provisioned_type_is_created_and_nothing_else(stack: Provisioned) -> None:
    expected = {
        lid
        for lid, res in stack.template.resources.items()
        if res.get("Type") in PROVISIONED_TYPES and stack.resolver.included(res)
    }
    assert set(stack.values.created) == expected
    assert {"TokenSigningSecret", "CodeSecret", "NikMacKey", "EmailConfigurationSet", "EmailEventsTopic"} <= expected
    skipped_types = {str(stack.template.resources[lid]["Type"]) for lid in set(stack.template.resources) - expected}
    assert {"AWS::WAFv2::WebACL", "AWS::WAFv2::WebACLAssociation", "AWS::IAM::Role"} <= skipped_types


def test_the_purpose_secrets_are_distinct_random_and_on_the_secrets_key(stack: Provisioned) -> None:
    sm = stack.client("secretsmanager")
    key_id = stack.created("SecretsKey")["KeyId"]
    values = {}
    for logical_id, variable in (
        ("TokenSigningSecret", "TOKEN_SECRET_ARN"),
        ("CodeSecret", "CODE_SECRET_ARN"),
    ):
        arn = stack.created(logical_id)["Ref"]
        assert stack.environment[variable] == arn, variable
        assert sm.describe_secret(SecretId=arn)["KmsKeyId"] == key_id, logical_id
        values[logical_id] = sm.get_secret_value(SecretId=arn)["SecretString"]
    assert len(set(values.values())) == 2
    assert all(len(v) >= 32 for v in values.values())


def test_nik_fingerprints_are_kms_macs_with_the_hmac_key(stack: Provisioned) -> None:
    kms = stack.client("kms")
    key_id = stack.environment["NIK_MAC_KEY_ID"]
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (meta["KeySpec"], meta["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    mac_a = kms.generate_mac(KeyId=key_id, Message=b"3174010101900001", MacAlgorithm="HMAC_SHA_256")["Mac"]
    mac_b = kms.generate_mac(KeyId=key_id, Message=b"3174010101900002", MacAlgorithm="HMAC_SHA_256")["Mac"]
    again = kms.generate_mac(KeyId=key_id, Message=b"3174010101900001", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert mac_a == again and mac_a != mac_b and len(mac_a) == 32
    assert kms.list_aliases(KeyId=meta["KeyId"])["Aliases"][0]["AliasName"].endswith("/nik-mac")
    # an encryption key cannot stand in for it
    with pytest.raises(kms.exceptions.InvalidKeyUsageException):
        kms.generate_mac(KeyId=stack.created("NikKey")["KeyId"], Message=b"x", MacAlgorithm="HMAC_SHA_256")


def test_the_configuration_set_publishes_bounces_and_complaints_to_the_events_topic(stack: Provisioned) -> None:
    ses = stack.client("ses")
    name = stack.environment["CONFIGURATION_SET"]
    described = ses.describe_configuration_set(
        ConfigurationSetName=name, ConfigurationSetAttributeNames=["eventDestinations"]
    )
    (destination,) = described["EventDestinations"]
    assert destination["SNSDestination"]["TopicARN"] == stack.created("EmailEventsTopic")["TopicArn"]
    assert set(destination["MatchingEventTypes"]) == {"bounce", "complaint"}


def test_an_email_event_published_to_the_topic_lands_raw_in_the_events_queue(stack: Provisioned) -> None:
    event = {"eventType": "Bounce", "bounce": {"bounceType": "Permanent"}, "mail": {"messageId": "m-1"}}
    stack.client("sns").publish(TopicArn=stack.created("EmailEventsTopic")["TopicArn"], Message=json.dumps(event))
    messages = stack.client("sqs").receive_message(
        QueueUrl=stack.created("EmailEventsQueue")["QueueUrl"], WaitTimeSeconds=1, MaxNumberOfMessages=10
    )["Messages"]
    bodies = [m["Body"] for m in messages]
    assert json.dumps(event) in bodies  # raw delivery: SES's JSON itself, no SNS envelope


def test_the_alarm_topic_exists_without_an_alarm_email(stack: Provisioned) -> None:
    assert stack.resolver.condition("HasAlarmEmail") is False
    arn = stack.created("AlarmTopic")["TopicArn"]
    assert arn in [t["TopicArn"] for t in stack.client("sns").list_topics()["Topics"]]
    assert "AlarmTopicSubscription" not in stack.values.created


def test_photo_access_logs_bucket_exists(stack: Provisioned) -> None:
    name = stack.created("AccessLogsBucket")["Ref"]
    assert stack.client("s3").head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
