"""The web client's files, their local serving and their deployment (no browser needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from infra.local.apigw import HttpRequest
from infra.local.web_client import WebClient, content_security_policy

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"


def get(client: WebClient, path: str, method: str = "GET") -> Any:
    return client.serve(HttpRequest(method=method, path=path, query="", headers=[], body=b""))


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return dict(cfn_yaml.load(str(ROOT / "template.yaml")))


def test_region_list_is_the_servers() -> None:
    """web/regions.json is a copy of the server's NIK region list: `make web-regions` refreshes it."""
    served = json.loads((WEB / "regions.json").read_text(encoding="utf-8"))
    server = json.loads((ROOT / "src/prakerja/domain/data/regions.json").read_text(encoding="utf-8"))
    assert served == server


def test_config_defaults_to_the_pages_own_origin() -> None:
    assert json.loads((WEB / "config.json").read_text()) == {"api_base_url": ""}


def test_no_third_party_code_or_cdn() -> None:
    for file in WEB.rglob("*"):
        if file.suffix in (".html", ".js", ".css"):
            text = file.read_text(encoding="utf-8")
            assert "http://" not in text and "https://" not in text, file  # everything from 'self'


def test_local_serving_types_headers_and_paths() -> None:
    client = WebClient(WEB, connect_src=["http://127.0.0.1:5000"])
    index = get(client, "/app/")
    assert index.status == 200 and index.header("Content-Type") == "text/html; charset=utf-8"
    assert b'<html lang="id">' in index.body
    csp = index.header("Content-Security-Policy")
    assert "connect-src 'self' http://127.0.0.1:5000;" in csp and "script-src 'self';" in csp
    assert index.header("X-Content-Type-Options") == "nosniff"
    assert get(client, "/app/js/app.js").header("Content-Type") == "text/javascript; charset=utf-8"
    assert get(client, "/app/app.css").header("Content-Type") == "text/css; charset=utf-8"
    assert get(client, "/app/regions.json").header("Content-Type") == "application/json"
    assert get(client, "/app").status == 301 and get(client, "/app").header("Location") == "/app/"
    for bad in (
        "/app/../README.md",
        "/app/%2e%2e/README.md",
        "/app/js/../../template.yaml",
        "/app/.hidden",
        "/app/nope",
    ):
        assert get(client, bad).status == 404, bad
    assert get(client, "/app/index.html", "POST").status == 405
    assert WebClient.handles("/app/x") and WebClient.handles("/app") and not WebClient.handles("/apple")


def directives(policy: str) -> dict[str, list[str]]:
    parts = (p.split() for p in policy.replace("\n", " ").split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


def test_deployed_client_is_private_behind_cloudfront_with_oac(template: dict[str, Any]) -> None:
    res = template["Resources"]
    bucket = res["WebBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values()) and len(bucket["PublicAccessBlockConfiguration"]) == 4
    (allow, deny) = res["WebBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"} and allow["Action"] == "s3:GetObject"
    assert "${WebDistribution}" in allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert deny["Effect"] == "Deny" and deny["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    oac = res["WebOriginAccessControl"]
    assert oac["Type"] == "AWS::CloudFront::OriginAccessControl"
    assert oac["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    config = res["WebDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["WebOriginAccessControl", "Id"]}
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "WebHeadersPolicy"}
    assert set(template["Outputs"]) >= {"WebUrl", "WebBucketName", "WebDistributionId"}


def test_deployed_headers_match_the_local_ones(template: dict[str, Any]) -> None:
    """Same CSP as the local gateway's, except the origins the page may call."""
    security = template["Resources"]["WebHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"][
        "SecurityHeadersConfig"
    ]
    deployed = directives(security["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"])
    local = directives(content_security_policy(["http://127.0.0.1:5000"]))
    connect = deployed.pop("connect-src")
    assert connect[0] == "'self'" and len(connect) == 4
    assert any("execute-api" in c for c in connect) and sum("-photos-" in c for c in connect) == 2
    assert deployed.pop("upgrade-insecure-requests") == []
    local.pop("connect-src")
    assert deployed == local
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert security["ContentTypeOptions"]["Override"] is True
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000


def test_api_and_photo_uploads_allow_only_the_web_origin(template: dict[str, Any]) -> None:
    origin = {
        "Fn::If": [
            "HasWebAllowedOrigin",
            {"Ref": "WebAllowedOrigin"},
            {"Fn::Sub": "https://${WebDistribution.DomainName}"},
        ]
    }
    assert template["Globals"]["Function"]["Environment"]["Variables"]["CORS_ALLOW_ORIGIN"] == origin
    (rule,) = template["Resources"]["PhotoBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == [origin] and rule["AllowedMethods"] == ["POST"]
    cors = template["Resources"]["Api"]["Properties"]["Cors"]
    assert "DELETE" in cors["AllowMethods"]  # sign-out and account deletion (issue 9)
    throttled = template["Resources"]["Api"]["Properties"]["GatewayResponses"]["THROTTLED"]
    assert throttled["ResponseParameters"]["Headers"]["Access-Control-Expose-Headers"] == "'Retry-After'"
