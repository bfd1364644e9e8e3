"""The local stack as a user runs it: `python -m infra.local` on free loopback ports, against the
small fixture template (tests/local/fixtures/template.yaml) and its three tiny functions."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
import requests

from infra.local.names import local_resource_names, physical_name

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = Path(__file__).resolve().parent / "fixtures" / "template.yaml"
REGION = "ap-southeast-3"
START_TIMEOUT_S = 45


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningStack:
    def __init__(self) -> None:
        self.port, self.aws_port, self.registry_port = free_port(), free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PRAKERJA_"))}
        env.update(
            PRAKERJA_PORT=str(self.port),
            PRAKERJA_AWS_PORT=str(self.aws_port),
            PRAKERJA_REGISTRY_PORT=str(self.registry_port),
            PRAKERJA_LOCAL_GREETING="overridden",
            PYTHONUNBUFFERED="1",
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "infra.local", "--template", str(TEMPLATE)],
            cwd=ROOT,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.output: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            if line.rstrip("\n") == "READY":
                self.ready.set()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.ready.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError("local stack did not start:\n" + "".join(self.output[-60:]))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=f"http://127.0.0.1:{self.aws_port}",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )  # noqa: S106

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    running = RunningStack()
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def eventually(check: Callable[[], Any], timeout_s: float = 15) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def seen(stack: RunningStack, prefix: str) -> dict[str, list[str]]:
    items = stack.client("dynamodb").scan(TableName=physical_name("SeenTable"))["Items"]
    found: dict[str, list[str]] = {}
    for item in items:
        if item["pk"]["S"].startswith(prefix):
            found.setdefault(item["pk"]["S"], []).append(item["sk"]["S"])
    return found


def assert_problem(response: requests.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = dict(response.json())
    assert (body["type"], body["status"]) == (slug, status)
    assert body["title"] and body["detail"]
    return body


# -- startup -------------------------------------------------------------------------------------------
def test_banner_says_what_runs_where_then_ready(stack: RunningStack):
    text = "".join(stack.output)
    assert f"http://127.0.0.1:{stack.port}" in text and f"http://127.0.0.1:{stack.aws_port}" in text
    assert f"http://127.0.0.1:{stack.registry_port}" in text
    assert "GET     /things/{id}/echo" in text and "-> EchoFunction" in text
    assert "READY\n" in stack.output


def test_resources_exist_under_local_names_and_match_the_offline_helper(stack: RunningStack):
    names = local_resource_names(TEMPLATE, aws_port=stack.aws_port, region=REGION)
    sqs = stack.client("sqs")
    for logical_id in ("WorkQueue", "WorkDLQ", "UploadQueue"):
        assert sqs.get_queue_url(QueueName=names[logical_id]["name"])["QueueUrl"] == names[logical_id]["url"]
    assert "OnlyWhenFlagged" not in {
        u.rsplit("/", 1)[-1].removeprefix("prakerja-local-") for u in sqs.list_queues()["QueueUrls"]
    }
    table = stack.client("dynamodb").describe_table(TableName=names["SourceTable"]["name"])["Table"]
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    ttl = stack.client("dynamodb").describe_time_to_live(TableName=names["SourceTable"]["name"])
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"
    assert names["UploadBucket"]["name"] == "prakerja-local-uploadbucket"
    assert "alias/prakerja-local/fixture" in {a["AliasName"] for a in stack.client("kms").list_aliases()["Aliases"]}


# -- API gateway ---------------------------------------------------------------------------------------
def test_api_event_has_the_rest_proxy_shape(stack: RunningStack):
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    conn.putrequest("GET", "/things/a%20b/echo?x=1&x=2&y=")
    conn.putheader("X-Custom", "first")
    conn.putheader("X-Custom", "second")
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Access-Control-Allow-Origin") == "http://localhost:8080"
    assert response.headers.get_all("X-Echo") == ["one", "two"]
    body = json.loads(response.read())
    conn.close()
    event = body["event"]
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/things/{id}/echo", "/things/a%20b/echo", "GET")
    assert event["pathParameters"] == {"id": "a b"}
    assert event["queryStringParameters"] == {"x": "2", "y": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert event["headers"]["X-Custom"] == "second"
    assert event["multiValueHeaders"]["X-Custom"] == ["first", "second"]
    assert event["body"] is None and event["isBase64Encoded"] is False and event["stageVariables"] is None
    context = event["requestContext"]
    assert (context["stage"], context["path"], context["resourcePath"]) == (
        "local",
        "/local/things/a%20b/echo",
        "/things/{id}/echo",
    )
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert isinstance(context["requestTimeEpoch"], int) and context["requestId"]
    assert body["context"]["function_name"] == "prakerja-local-EchoFunction"
    assert 0 < body["context"]["remaining_ms"] <= 5000


def test_static_segment_wins_over_a_path_parameter(stack: RunningStack):
    event = requests.get(stack.url + "/things/special/echo", timeout=10).json()["event"]
    assert event["resource"] == "/things/special/echo" and event["pathParameters"] is None


def test_functions_get_the_template_environment_resolved_locally(stack: RunningStack):
    env = requests.get(stack.url + "/things/1/echo", timeout=10).json()["env"]
    names = local_resource_names(TEMPLATE, aws_port=stack.aws_port, region=REGION)
    assert env["GREETING"] == "overridden"  # PRAKERJA_LOCAL_GREETING
    assert (env["STAGE"], env["MODE"], env["OPTIONAL"]) == ("local", "off", None)
    assert env["QUEUE_URL"] == names["WorkQueue"]["url"]
    assert env["SUBBED"] == "prakerja-local/local/prakerja-local-WorkQueue/${Literal}"
    assert env["BUCKET"] == "prakerja-local-uploadbucket"
    assert env["SENDER_EMAIL"] == "no-reply@prakerja.local"
    assert env["REGISTRY_URL"] == f"http://127.0.0.1:{stack.registry_port}"
    assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{stack.aws_port}"
    secret = json.loads(stack.client("secretsmanager").get_secret_value(SecretId=env["SECRET_ARN"])["SecretString"])
    assert secret["user"] == "app" and len(secret["password"]) >= 48
    kms = stack.client("kms")
    blob = kms.encrypt(KeyId=env["KEY_ID"], Plaintext=b"x")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_binary_body_arrives_base64_encoded(stack: RunningStack):
    raw = b"\xff\xfe\x00binary"
    event = requests.post(stack.url + "/things/1/echo", data=raw, timeout=10).json()["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw
    text = requests.post(stack.url + "/things/1/echo", data="héllo".encode(), timeout=10).json()["event"]
    assert (text["body"], text["isBase64Encoded"]) == ("héllo", False)


def test_gateway_errors_are_problem_json(stack: RunningStack):
    assert_problem(requests.get(stack.url + "/nowhere", timeout=10), 404, "not-found")
    wrong = requests.delete(stack.url + "/things/1/echo", timeout=10)
    assert_problem(wrong, 405, "method-not-allowed")
    assert wrong.headers["Allow"] == "GET, OPTIONS, POST"
    assert wrong.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    boom = requests.get(stack.url + "/boom", timeout=10)
    assert_problem(boom, 502, "internal-error")
    assert "secret detail" not in boom.text and "Traceback" not in boom.text


def test_body_over_10_mib_is_413_without_reaching_the_handler(stack: RunningStack):
    big = requests.post(stack.url + "/things/1/echo", data=b"x" * (10 * 1024 * 1024 + 1), timeout=30)
    assert_problem(big, 413, "payload-too-large")
    assert requests.get(stack.url + "/things/1/echo", timeout=10).status_code == 200


def test_cors_preflight_comes_from_the_api_cors_property(stack: RunningStack):
    r = requests.options(
        stack.url + "/things/7/echo",
        headers={"Origin": "http://localhost:8080", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    assert r.headers["Access-Control-Allow-Methods"] == "GET,OPTIONS,POST"
    assert r.headers["Access-Control-Allow-Headers"] == "Content-Type,X-Custom"
    assert r.headers["Access-Control-Max-Age"] == "600"
    assert_problem(requests.options(stack.url + "/nowhere", timeout=10), 404, "not-found")


def test_mailbox_lists_mail_sent_through_ses_per_recipient(stack: RunningStack):
    ses = stack.client("ses")
    for subject in ("first", "second"):
        ses.send_email(
            Source="no-reply@prakerja.local",
            Destination={"ToAddresses": ["Ana@Example.com"], "CcAddresses": ["budi@example.com"]},
            Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": f"body {subject}"}}},
        )
    ana = requests.get(stack.url + "/_dev/mailbox", params={"to": "ana@example.COM"}, timeout=10)
    assert ana.status_code == 200
    assert [(m["subject"], m["text"]) for m in ana.json()["messages"]] == [
        ("first", "body first"),
        ("second", "body second"),
    ]
    budi = requests.get(stack.url + "/_dev/mailbox", params={"to": "budi@example.com"}, timeout=10).json()
    assert [m["to"] for m in budi["messages"]] == ["budi@example.com"] * 2
    assert requests.get(stack.url + "/_dev/mailbox", params={"to": "nobody@example.com"}, timeout=10).json() == {
        "messages": []
    }
    assert_problem(requests.get(stack.url + "/_dev/mailbox", timeout=10), 422, "validation-failed")


# -- event sources ---------------------------------------------------------------------------------------
def test_sqs_partial_batch_failure_redelivers_then_dead_letters(stack: RunningStack):
    sqs = stack.client("sqs")
    names = local_resource_names(TEMPLATE, aws_port=stack.aws_port, region=REGION)
    for body in ("ok-1", "fail-1", "ok-2"):
        sqs.send_message(QueueUrl=names["WorkQueue"]["url"], MessageBody=body)

    def parked() -> list[str]:
        messages = sqs.receive_message(
            QueueUrl=names["WorkDLQ"]["url"], MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        return [m["Body"] for m in messages]

    assert eventually(parked, 20) == ["fail-1"]
    deliveries = seen(stack, "sqs#")
    assert sorted(deliveries["sqs#fail-1"]) == ["1", "2"]  # delivered, failed, delivered again, failed
    assert deliveries["sqs#ok-1"] == ["1"] and deliveries["sqs#ok-2"] == ["1"]
    attributes = sqs.get_queue_attributes(QueueUrl=names["WorkQueue"]["url"], AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_stream_records_reach_the_consumer_through_the_filter(stack: RunningStack):
    ddb = stack.client("dynamodb")
    table = physical_name("SourceTable")
    # A cancelled transaction first: moto swaps the table object when it rolls back.
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": "keep#never"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                }
            ]
        )
    for pk in ("keep#1", "drop#1", "keep#2"):
        ddb.put_item(TableName=table, Item={"pk": {"S": pk}})
    ddb.delete_item(TableName=table, Key={"pk": {"S": "keep#1"}})
    got = eventually(lambda: (s := seen(stack, "stream#")) and len(s.get("stream#keep#1", [])) == 2 and s, 15)
    assert got, seen(stack, "stream#")
    assert sorted(got["stream#keep#1"]) == ["INSERT", "REMOVE"]
    assert got["stream#keep#2"] == ["INSERT"]
    assert "stream#drop#1" not in got and "stream#keep#never" not in got


def test_s3_notifications_reach_the_configured_queue(stack: RunningStack):
    names = local_resource_names(TEMPLATE, aws_port=stack.aws_port, region=REGION)
    stack.client("s3").put_object(Bucket=names["UploadBucket"]["name"], Key="uploads/a.txt", Body=b"a")

    def keys() -> list[str]:
        messages = (
            stack.client("sqs")
            .receive_message(QueueUrl=names["UploadQueue"]["url"], MaxNumberOfMessages=10, VisibilityTimeout=0)
            .get("Messages", [])
        )
        return [
            unquote_plus(r["s3"]["object"]["key"])  # event keys are URL-encoded
            for m in messages
            for r in json.loads(m["Body"]).get("Records", [])
        ]

    assert eventually(keys, 10) == ["uploads/a.txt"]


def test_long_poll_on_an_empty_queue_does_not_block_other_calls(stack: RunningStack):
    sqs = stack.client("sqs")
    empty = sqs.create_queue(QueueName="long-poll-test")["QueueUrl"]
    result: dict[str, float] = {}

    def long_poll() -> None:
        started = time.monotonic()
        sqs.receive_message(QueueUrl=empty, WaitTimeSeconds=2)
        result["waited"] = time.monotonic() - started

    poller = threading.Thread(target=long_poll)
    poller.start()
    time.sleep(0.3)
    started = time.monotonic()
    stack.client("dynamodb").list_tables()
    assert time.monotonic() - started < 1.0
    poller.join(10)
    assert 1.8 <= result["waited"] < 5


def test_sigterm_stops_everything_cleanly():
    running = RunningStack()
    try:
        running.wait_ready()
        registry_url = f"http://127.0.0.1:{running.registry_port}/health"
        assert requests.get(registry_url, timeout=5).status_code == 200
    finally:
        code = running.stop()
    assert code == 0, "".join(running.output[-30:])
    with pytest.raises(requests.ConnectionError):
        requests.get(registry_url, timeout=2)
