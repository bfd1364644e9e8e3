"""Creating the template's resources in moto, from the template's own definitions.

Tables, queues, buckets, KMS keys (HMAC keys included) and aliases, secrets, SNS topics and
their subscriptions, and SES configuration sets with their event destinations are created (in
dependency order); everything else (IAM, WAF, alarms, log groups, API resources, policies,
layers...) is skipped with a debug line. Properties moto does not support are skipped with an
info line naming them.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from infra.local.intrinsics import Resolver
from infra.local.names import ACCOUNT_ID, physical_name, static_attributes
from infra.local.template import Template, dependency_order

log = logging.getLogger("infra.local.provision")

TABLE, QUEUE, BUCKET = "AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket"
KEY, ALIAS, SECRET = "AWS::KMS::Key", "AWS::KMS::Alias", "AWS::SecretsManager::Secret"
TOPIC, SUBSCRIPTION = "AWS::SNS::Topic", "AWS::SNS::Subscription"
CONFIG_SET, CONFIG_SET_EVENTS = "AWS::SES::ConfigurationSet", "AWS::SES::ConfigurationSetEventDestination"
PROVISIONED_TYPES = (KEY, ALIAS, SECRET, TABLE, QUEUE, BUCKET, TOPIC, SUBSCRIPTION, CONFIG_SET, CONFIG_SET_EVENTS)
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
)


class ResourceValues(Mapping[str, Mapping[str, Any]]):
    """logical id -> its Ref/GetAtt values: real ones once created, placeholders for the rest."""

    def __init__(self, template: Template, region: str, aws_port: int) -> None:
        self._template = template
        self._region = region
        self._aws_port = aws_port
        self.created: dict[str, dict[str, Any]] = {}

    def __getitem__(self, logical_id: str) -> Mapping[str, Any]:
        if logical_id in self.created:
            return self.created[logical_id]
        resource = self._template.resources.get(logical_id)
        if resource is None:
            raise KeyError(logical_id)
        return _Placeholder(logical_id, resource, static_attributes(logical_id, resource, self._region, self._aws_port))

    def __iter__(self) -> Iterator[str]:
        return iter(self._template.resources)

    def __len__(self) -> int:
        return len(self._template.resources)

    def lookup(self, logical_id: str) -> Mapping[str, Any] | None:
        return self.get(logical_id)


class _Placeholder(Mapping[str, Any]):
    """Values of a resource the local stack does not create: its physical name / a made-up ARN."""

    def __init__(self, logical_id: str, resource: Mapping[str, Any], known: Mapping[str, str]) -> None:
        self._name = known.get("name") or physical_name(logical_id)
        service = str(resource.get("Type", "AWS::Local::Thing")).split("::")[1].lower()
        self._values = {"Ref": self._name, "Arn": f"arn:aws:{service}:local:{ACCOUNT_ID}:{self._name}", **known}

    def __getitem__(self, attribute: str) -> Any:
        return self._values.get(attribute, f"{self._name}-{attribute}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, attribute: object) -> bool:
        return True


class Provisioner:
    def __init__(
        self,
        template: Template,
        resolver: Resolver,
        values: ResourceValues,
        region: str,
        client: Callable[[str], Any],
        queue_wait_defaults: dict[str, int],
    ) -> None:
        self._template = template
        self._resolver = resolver
        self._values = values
        self._region = region
        self._client = client
        self._queue_waits = queue_wait_defaults
        self.counts: Counter[str] = Counter()
        self._create: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
            TABLE: self._table,
            QUEUE: self._queue,
            BUCKET: self._bucket,
            KEY: self._key,
            ALIAS: self._alias,
            SECRET: self._secret,
            TOPIC: self._topic,
            SUBSCRIPTION: self._subscription,
            CONFIG_SET: self._config_set,
            CONFIG_SET_EVENTS: self._config_set_events,
        }

    def provision_all(self) -> None:
        wanted = {
            lid: res
            for lid, res in self._template.resources.items()
            if res.get("Type") in PROVISIONED_TYPES and self._resolver.included(res)
        }
        for lid, res in self._template.resources.items():
            if lid not in wanted:
                log.debug("not created locally", extra={"resource": lid, "type": res.get("Type")})
        for lid in dependency_order(wanted):
            rtype = str(wanted[lid]["Type"])
            props = self._resolver.resolve(wanted[lid].get("Properties") or {})
            self._values.created[lid] = self._create[rtype](lid, props)
            self.counts[rtype] += 1
            log.debug("created", extra={"resource": lid, "type": rtype})

    # -- DynamoDB -----------------------------------------------------------------------------------
    def _table(self, lid: str, props: dict[str, Any]) -> dict[str, Any]:
        ddb = self._client("dynamodb")
        name = physical_name(lid, TABLE)
        args: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if args["BillingMode"] == "PROVISIONED":
            args["ProvisionedThroughput"] = props.get("ProvisionedThroughput") or {
                "ReadCapacityUnits": 5,
                "WriteCapacityUnits": 5,
            }
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if props.get(key):
                args[key] = props[key]
        stream = props.get("StreamSpecification")
        if stream:
            args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        sse = props.get("SSESpecification")
        if sse:
            args["SSESpecification"] = _without_none(
                {
                    "Enabled": bool(sse.get("SSEEnabled")),
                    "SSEType": sse.get("SSEType"),
                    "KMSMasterKeyId": sse.get("KMSMasterKeyId"),
                }
            )
        table = ddb.create_table(**args)["TableDescription"]
        self._table_extras(ddb, name, props)
        _skipped(
            lid,
            props,
            {
                "KeySchema",
                "AttributeDefinitions",
                "BillingMode",
                "ProvisionedThroughput",
                "GlobalSecondaryIndexes",
                "LocalSecondaryIndexes",
                "StreamSpecification",
                "SSESpecification",
                "TimeToLiveSpecification",
                "PointInTimeRecoverySpecification",
                "TableName",
            },
        )
        return {"Ref": name, "name": name, "Arn": table["TableArn"], "StreamArn": table.get("LatestStreamArn", "")}

    def _table_extras(self, ddb: Any, name: str, props: dict[str, Any]) -> None:
        ttl = props.get("TimeToLiveSpecification")
        if ttl and _true(ttl.get("Enabled")):
            ddb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )
        pitr = props.get("PointInTimeRecoverySpecification")
        if pitr and _true(pitr.get("PointInTimeRecoveryEnabled")):
            _optional(
                name,
                "PointInTimeRecoverySpecification",
                lambda: ddb.update_continuous_backups(
                    TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
                ),
            )

    # -- SQS ----------------------------------------------------------------------------------------
    def _queue(self, lid: str, props: dict[str, Any]) -> dict[str, Any]:
        sqs = self._client("sqs")
        fifo = _true(props.get("FifoQueue")) or str(props.get("QueueName", "")).endswith(".fifo")
        name = physical_name(lid, QUEUE, fifo=fifo)
        attributes = {key: _text(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if key in props:
                attributes[key] = json.dumps(props[key]) if isinstance(props[key], dict) else str(props[key])
        if fifo:
            attributes["FifoQueue"] = "true"
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._queue_waits[name] = int(props.get("ReceiveMessageWaitTimeSeconds", 0) or 0)
        _skipped(lid, props, {*_QUEUE_ATTRIBUTES, "RedrivePolicy", "RedriveAllowPolicy", "QueueName"})
        return {"Ref": url, "name": name, "QueueUrl": url, "QueueName": name, "Arn": arn}

    # -- S3 -----------------------------------------------------------------------------------------
    def _bucket(self, lid: str, props: dict[str, Any]) -> dict[str, Any]:
        s3 = self._client("s3")
        name = physical_name(lid, BUCKET)
        if self._region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self._region})
        for prop, call in self._bucket_calls(s3, name, props).items():
            if prop in props:
                _optional(lid, prop, call)
        _skipped(lid, props, {"BucketName", *self._bucket_calls(s3, name, props)})
        return {
            "Ref": name,
            "name": name,
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{self._region}.amazonaws.com",
        }

    @staticmethod
    def _bucket_calls(s3: Any, name: str, props: dict[str, Any]) -> dict[str, Callable[[], Any]]:
        return {
            "CorsConfiguration": lambda: s3.put_bucket_cors(
                Bucket=name,
                CORSConfiguration={"CORSRules": [_cors_rule(r) for r in props["CorsConfiguration"]["CorsRules"]]},
            ),
            "PublicAccessBlockConfiguration": lambda: s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            ),
            "BucketEncryption": lambda: s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        _encryption_rule(r) for r in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                    ]
                },
            ),
            "VersioningConfiguration": lambda: s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]}
            ),
            "OwnershipControls": lambda: s3.put_bucket_ownership_controls(
                Bucket=name, OwnershipControls=props["OwnershipControls"]
            ),
            "NotificationConfiguration": lambda: s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration=_notifications(name, props["NotificationConfiguration"])
            ),
        }

    # -- KMS and Secrets Manager ------------------------------------------------------------------------
    def _key(self, lid: str, props: dict[str, Any]) -> dict[str, Any]:
        kms = self._client("kms")
        args = _without_none(
            {
                "Description": props.get("Description"),
                "KeyUsage": props.get("KeyUsage"),
                "KeySpec": props.get("KeySpec"),
                "Policy": json.dumps(props["KeyPolicy"]) if "KeyPolicy" in props else None,
            }
        )
        meta = kms.create_key(**args)["KeyMetadata"]
        if _true(props.get("EnableKeyRotation")):
            _optional(lid, "EnableKeyRotation", lambda: kms.enable_key_rotation(KeyId=meta["KeyId"]))
        _skipped(lid, props, {"Description", "KeyUsage", "KeySpec", "KeyPolicy", "EnableKeyRotation"})
        return {"Ref": meta["KeyId"], "KeyId": meta["KeyId"], "Arn": meta["Arn"]}

    def _alias(self, lid: str, props: dict[str, Any]) -> dict[str, Any]:
        self._client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
        return {"Ref": props["AliasName"]}

    def _secret(self, lid: str, props: dict[str, Any]) -> dict[str, Any]:
        name = physical_name(lid, SECRET)
        value = props.get("SecretString")
        if value is None:
            value = generate_secret_string(props.get("GenerateSecretString") or {})
        args = _without_none(
            {
                "Name": name,
                "Description": props.get("Description"),
                "SecretString": value,
                "KmsKeyId": props.get("KmsKeyId"),
            }
        )
        arn = self._client("secretsmanager").create_secret(**args)["ARN"]
        _skipped(lid, props, {"Name", "Description", "SecretString", "GenerateSecretString", "KmsKeyId"})
        return {"Ref": arn, "Id": arn, "name": name}

    # -- SNS ----------------------------------------------------------------------------------------
    def _topic(self, lid: str, props: dict[str, Any]) -> dict[str, Any]:
        name = physical_name(lid, TOPIC)
        attributes = {key: _text(props[key]) for key in ("DisplayName", "KmsMasterKeyId") if key in props}
        arn = self._client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        _skipped(lid, props, {"TopicName", "DisplayName", "KmsMasterKeyId"})
        return {"Ref": arn, "TopicArn": arn, "TopicName": name, "name": name}

    def _subscription(self, lid: str, props: dict[str, Any]) -> dict[str, Any]:
        """SQS subscriptions deliver locally too (moto's SNS publishes into moto's SQS)."""
        attributes = {key: _text(props[key]) for key in ("RawMessageDelivery", "FilterPolicy") if key in props}
        if isinstance(props.get("FilterPolicy"), dict):
            attributes["FilterPolicy"] = json.dumps(props["FilterPolicy"])
        arn = self._client("sns").subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        _skipped(lid, props, {"TopicArn", "Protocol", "Endpoint", "RawMessageDelivery", "FilterPolicy"})
        return {"Ref": arn, "Arn": arn}

    # -- SES ----------------------------------------------------------------------------------------
    def _config_set(self, lid: str, props: dict[str, Any]) -> dict[str, Any]:
        ses = self._client("ses")
        name = str(props.get("Name") or physical_name(lid, CONFIG_SET))
        ses.create_configuration_set(ConfigurationSet={"Name": name})
        reputation = props.get("ReputationOptions") or {}
        if "ReputationMetricsEnabled" in reputation:
            _optional(
                lid,
                "ReputationOptions",
                lambda: ses.update_configuration_set_reputation_metrics_enabled(
                    ConfigurationSetName=name, Enabled=_true(reputation["ReputationMetricsEnabled"])
                ),
            )
        _skipped(lid, props, {"Name", "ReputationOptions"})
        return {"Ref": name, "name": name}

    def _config_set_events(self, lid: str, props: dict[str, Any]) -> dict[str, Any]:
        destination = props["EventDestination"]
        name = str(destination.get("Name") or physical_name(lid))
        args: dict[str, Any] = {
            "Name": name,
            "Enabled": _true(destination.get("Enabled", True)),
            "MatchingEventTypes": list(destination.get("MatchingEventTypes") or []),
        }
        if destination.get("SnsDestination"):
            args["SNSDestination"] = {"TopicARN": destination["SnsDestination"]["TopicARN"]}
        self._client("ses").create_configuration_set_event_destination(
            ConfigurationSetName=props["ConfigurationSetName"], EventDestination=args
        )
        others = set(destination) - {"Name", "Enabled", "MatchingEventTypes", "SnsDestination"}
        if others:
            log.info(
                "event destination settings skipped locally",
                extra={"resource": lid, "skipped": ",".join(sorted(others))},
            )
        return {"Ref": name, "name": name}


def generate_secret_string(spec: Mapping[str, Any]) -> str:
    """A random secret made here (moto's generator is not used): plain, or the template JSON with
    the generated value under GenerateStringKey."""
    generated = secrets.token_urlsafe(48)
    template, key = spec.get("SecretStringTemplate"), spec.get("GenerateStringKey")
    if template and key:
        document = json.loads(str(template))
        document[str(key)] = generated
        return json.dumps(document)
    return generated


def _cors_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    renamed = {"Id": "ID", "ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds"}
    return {renamed.get(key, key): value for key, value in rule.items()}


def _encryption_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    renamed = {"ServerSideEncryptionByDefault": "ApplyServerSideEncryptionByDefault"}
    return {renamed.get(key, key): value for key, value in rule.items()}


def _notifications(bucket: str, config: Mapping[str, Any]) -> dict[str, Any]:
    queues = []
    for item in config.get("QueueConfigurations") or []:
        entry: dict[str, Any] = {"QueueArn": item["Queue"], "Events": [item["Event"]]}
        rules = ((item.get("Filter") or {}).get("S3Key") or {}).get("Rules")
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": rules}}
        queues.append(entry)
    others = set(config) - {"QueueConfigurations"}
    if others:
        log.info("bucket notifications skipped locally", extra={"bucket": bucket, "skipped": ",".join(sorted(others))})
    return {"QueueConfigurations": queues}


def _optional(resource: str, prop: str, call: Callable[[], Any]) -> None:
    try:
        call()
    except Exception as exc:  # moto lacks a feature: the local stack runs without it
        log.info(
            "property not applied locally", extra={"resource": resource, "property": prop, "reason": type(exc).__name__}
        )


def _skipped(resource: str, props: Mapping[str, Any], handled: set[str]) -> None:
    skipped = sorted(set(props) - handled - {"Tags"})
    if skipped:
        log.info("properties skipped locally", extra={"resource": resource, "skipped": ",".join(skipped)})


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
