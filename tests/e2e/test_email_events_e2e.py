"""A bounce on the real local stack: SES's event JSON published to EmailEventsTopic reaches
EmailEventsQueue (SNS raw delivery) and HandleEmailEventFunction (under its own IAM role), and
GET /registrations/{id} shows email_delivery BOUNCED."""

from __future__ import annotations

import json

import boto3

from infra.launcher import LocalStack
from tests.e2e.client import Api

REGION = "ap-southeast-3"


def test_a_hard_bounce_reaches_the_registration(api: Api, stack: LocalStack) -> None:
    person, rid, token = api.verified_person()
    assert api.status(rid, token)["email_delivery"] == "OK"
    sns = boto3.client(
        "sns", endpoint_url=stack.aws_url, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("EmailEventsTopic"))
    event = {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": person["email"]}]},
        "mail": {"messageId": "m-e2e", "destination": [person["email"]]},
    }
    sns.publish(TopicArn=topic, Message=json.dumps(event))
    status = api.wait_status(rid, token, "email_delivery", {"BOUNCED"}, timeout_s=30)
    assert status["email_delivery"] == "BOUNCED"
