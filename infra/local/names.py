"""Names of the local stack's resources, computed without starting anything or calling AWS.

Importable by tests and the ops CLI (`infra.cli`): no moto, no boto3 at import time.

    physical_name("RegistrationsTable")          -> "prakerja-local-RegistrationsTable"
    physical_name("PhotoBucket", "AWS::S3::Bucket") -> "prakerja-local-photobucket"
    local_resource_names()["EmailQueue"]          -> {"name", "url", "arn"}

What cannot be computed offline (moto makes it up at creation time) is left out; look it up:
KMS key ids/ARNs (use the alias or `describe_key`), Secrets Manager ARNs (a random suffix:
`describe_secret(SecretId=name)`), DynamoDB stream ARNs (`describe_table(...)["Table"]["LatestStreamArn"]`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

LOCAL_STACK_NAME = "prakerja-local"
ACCOUNT_ID = "123456789012"  # moto's DEFAULT_ACCOUNT_ID (a test checks they agree)
DEFAULT_REGION = "ap-southeast-3"
HOST = "127.0.0.1"
DEFAULT_PORT = 3000  # API gateway (PRAKERJA_PORT)
DEFAULT_AWS_PORT = 5000  # moto (PRAKERJA_AWS_PORT)
DEFAULT_REGISTRY_PORT = 3100  # registry stand-in (PRAKERJA_REGISTRY_PORT)
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = ROOT / "template.yaml"

# Longest physical name AWS accepts, per resource type.
_MAX_LENGTH = {
    "AWS::S3::Bucket": 63,
    "AWS::SQS::Queue": 80,
    "AWS::Serverless::Function": 64,
    "AWS::Lambda::Function": 64,
    "AWS::DynamoDB::Table": 255,
    "AWS::SecretsManager::Secret": 512,
}


def physical_name(logical_id: str, resource_type: str | None = None, *, fifo: bool = False) -> str:
    """`prakerja-local-<LogicalId>`; S3 buckets lower-case; FIFO queues end in `.fifo`; cut to AWS limits."""
    name = f"{LOCAL_STACK_NAME}-{logical_id}"
    suffix = ".fifo" if fifo else ""
    if resource_type == "AWS::S3::Bucket":
        name = re.sub(r"[^a-z0-9.-]", "-", name.lower())
    limit = _MAX_LENGTH.get(resource_type or "", 255) - len(suffix)
    return name[:limit].rstrip("-.") + suffix


def aws_port_from_env() -> int:
    return int(os.environ.get("PRAKERJA_AWS_PORT", str(DEFAULT_AWS_PORT)))


def region_from_env() -> str:
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or DEFAULT_REGION


def queue_url(name: str, aws_port: int) -> str:
    """moto builds queue URLs from the request's host: http://127.0.0.1:<port>/<account>/<name>."""
    return f"http://{HOST}:{aws_port}/{ACCOUNT_ID}/{name}"


def static_attributes(logical_id: str, resource: dict[str, Any], region: str, aws_port: int) -> dict[str, str]:
    """`Ref` and `GetAtt` values of one resource that are known before it exists (may be empty)."""
    rtype = str(resource.get("Type", ""))
    props = resource.get("Properties") or {}
    if rtype == "AWS::DynamoDB::Table":
        name = physical_name(logical_id, rtype)
        return {"Ref": name, "name": name, "Arn": f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}"}
    if rtype == "AWS::SQS::Queue":
        name = physical_name(logical_id, rtype, fifo=_is_fifo(props))
        url = queue_url(name, aws_port)
        return {
            "Ref": url,
            "name": name,
            "QueueName": name,
            "QueueUrl": url,
            "Arn": f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{name}",
        }
    if rtype == "AWS::S3::Bucket":
        name = physical_name(logical_id, rtype)
        return {
            "Ref": name,
            "name": name,
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
        }
    if rtype in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
        name = physical_name(logical_id, rtype)
        return {"Ref": name, "name": name, "Arn": f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"}
    if rtype == "AWS::SecretsManager::Secret":
        return {"name": physical_name(logical_id, rtype)}
    return {}


def _is_fifo(props: dict[str, Any]) -> bool:
    flag = props.get("FifoQueue")
    name = props.get("QueueName")
    return str(flag).lower() == "true" or (isinstance(name, str) and name.endswith(".fifo"))


def local_resource_names(
    template_path: str | Path = DEFAULT_TEMPLATE, *, aws_port: int | None = None, region: str | None = None
) -> dict[str, dict[str, str]]:
    """logical id -> {"name", and "url" (queues) / "arn" where computable} for the template's tables,
    queues, buckets, functions and secrets (those the template's Conditions create locally).
    No AWS call; port and region default to the environment, like the running stack's."""
    from infra.local.intrinsics import Resolver
    from infra.local.overrides import parameter_values
    from infra.local.provision import ResourceValues
    from infra.local.template import load_template

    port = aws_port if aws_port is not None else aws_port_from_env()
    where = region or region_from_env()
    template = load_template(Path(template_path))
    resolver = Resolver(
        template,
        parameter_values(template.parameters, DEFAULT_REGISTRY_PORT),
        ResourceValues(template, where, port).lookup,
        region=where,
    )
    result: dict[str, dict[str, str]] = {}
    for logical_id, resource in template.resources.items():
        attrs = static_attributes(logical_id, resource, where, port)
        if "name" not in attrs or not resolver.included(resource):
            continue
        entry = {"name": attrs["name"]}
        if "QueueUrl" in attrs:
            entry["url"] = attrs["QueueUrl"]
        if "Arn" in attrs:
            entry["arn"] = attrs["Arn"]
        result[logical_id] = entry
    return result
