"""AWS calls each API route makes on its synchronous path (warm: after the one-time secret read
of a cold start). Runs the real handlers against an in-process moto sandbox.
Target: register <= 2, every other route <= 3.

    .venv/bin/python -m infra.bench.aws_calls
"""

from __future__ import annotations

import json
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from infra.sandbox import FakeContext, api_event, load_handler, sandbox

TARGETS = {"POST /registrations": 2}
CALLS: Counter[str] = Counter()


@contextmanager
def counting() -> Any:
    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def counted(self: Any, operation: str, params: dict[str, Any]) -> Any:
        CALLS[f"{self.meta.service_model.service_name}:{operation}"] += 1
        return original(self, operation, params)

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def measure(call: Callable[[], dict[str, Any]]) -> tuple[int, list[str], int]:
    CALLS.clear()
    with counting():
        response = call()
    return sum(CALLS.values()), sorted(CALLS.elements()), int(response["statusCode"])


def person() -> dict[str, Any]:
    return {
        "email": f"bench-{uuid.uuid4().hex[:10]}@example.com",
        "password": "password-123",  # nosec B105 # a throwaway benchmark account on the local stack
        "full_name": "Budi Santoso",
        "phone": "081234567890",
        "consent": {"terms_version": "2026-01", "accepted": True},
    }


def main() -> int:  # noqa: PLR0915 - a linear script
    rows: list[tuple[str, int, list[str], int]] = []
    with sandbox() as box:
        from prakerja.adapters.keys import reg_key
        from prakerja.composition import keys
        from prakerja.domain.security import verification_code

        ddb = box.client("dynamodb")
        ctx = FakeContext()

        def invoke(fn: str, event: dict[str, Any]) -> dict[str, Any]:
            return load_handler(fn)(event, ctx)  # type: ignore[no-any-return]

        def register() -> dict[str, Any]:
            return invoke(
                "register",
                api_event(
                    "POST",
                    "/registrations",
                    "/registrations",
                    body=person(),
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                ),
            )

        def code_of(rid: str) -> str:
            item = ddb.get_item(TableName=box.env["TABLE_NAME"], Key=reg_key(rid))["Item"]
            return verification_code(keys().code, rid, item["code_nonce"]["S"])

        def new_registration() -> tuple[str, dict[str, Any]]:
            p = person()
            r = invoke("register", api_event("POST", "/registrations", "/registrations", body=p))
            return json.loads(r["body"])["registration_id"], p

        def route(name: str, fn: str, make: Callable[[], dict[str, Any]]) -> None:
            invoke(fn, make())  # warm: the cold start's secret read is not on the request path
            event = make()
            total, calls, status = measure(lambda: invoke(fn, event))
            rows.append((name, total, calls, status))

        register()
        total, calls, status = measure(register)
        rows.append(("POST /registrations", total, calls, status))

        def verify_event() -> dict[str, Any]:
            rid, _ = new_registration()
            return api_event(
                "POST",
                "/registrations/{id}/email-verification",
                f"/registrations/{rid}/email-verification",
                body={"code": code_of(rid)},
                path_parameters={"id": rid},
            )

        route("POST /registrations/{id}/email-verification", "verify_email", verify_event)

        def resend_event() -> dict[str, Any]:
            rid, _ = new_registration()
            ddb.update_item(
                TableName=box.env["TABLE_NAME"],
                Key=reg_key(rid),
                UpdateExpression="SET code_sent_at = :t",
                ExpressionAttributeValues={":t": {"N": "0"}},
            )
            return api_event(
                "POST",
                "/registrations/{id}/email-verification/resend",
                f"/registrations/{rid}/email-verification/resend",
                path_parameters={"id": rid},
            )

        route("POST /registrations/{id}/email-verification/resend", "resend_code", resend_event)

        def verified() -> tuple[str, dict[str, Any], str]:
            rid, p = new_registration()
            r = invoke(
                "verify_email",
                api_event(
                    "POST",
                    "/registrations/{id}/email-verification",
                    f"/registrations/{rid}/email-verification",
                    body={"code": code_of(rid)},
                    path_parameters={"id": rid},
                ),
            )
            return rid, p, json.loads(r["body"])["access_token"]

        def session_event() -> dict[str, Any]:
            _, p, _ = verified()
            return api_event("POST", "/sessions", "/sessions", body={"email": p["email"], "password": p["password"]})

        route("POST /sessions", "create_session", session_event)

        def status_event() -> dict[str, Any]:
            rid, _, token = verified()
            return api_event(
                "GET", "/registrations/{id}", f"/registrations/{rid}", token=token, path_parameters={"id": rid}
            )

        route("GET /registrations/{id}", "get_registration", status_event)

        def nik_event() -> dict[str, Any]:
            rid, _, token = verified()
            serial = f"{uuid.uuid4().int % 9999 + 1:04d}"
            return api_event(
                "POST",
                "/registrations/{id}/nik",
                f"/registrations/{rid}/nik",
                token=token,
                path_parameters={"id": rid},
                body={
                    "nik": f"320101210790{serial}",
                    "full_name": "Budi Santoso",
                    "birth_date": "1990-07-21",
                    "gender": "M",
                },
            )

        route("POST /registrations/{id}/nik", "verify_nik", nik_event)

        def photo_event() -> dict[str, Any]:
            rid, _, token = verified()
            return api_event(
                "POST",
                "/registrations/{id}/photo",
                f"/registrations/{rid}/photo",
                token=token,
                path_parameters={"id": rid},
                body={"content_type": "image/jpeg"},
            )

        route("POST /registrations/{id}/photo", "upload_photo", photo_event)

        from prakerja.composition import batch_service

        batch_service().create_batch("bench-batch", "Bench batch", 100_000)
        route("GET /batches", "list_batches", lambda: api_event("GET", "/batches", "/batches"))

        def join_event() -> dict[str, Any]:
            rid, _, token = verified()
            ddb.update_item(
                TableName=box.env["TABLE_NAME"],
                Key=reg_key(rid),
                UpdateExpression="SET nik_status = :v, photo_status = :a",
                ExpressionAttributeValues={":v": {"S": "VERIFIED"}, ":a": {"S": "ACCEPTED"}},
            )
            return api_event(
                "POST",
                "/registrations/{id}/batch",
                f"/registrations/{rid}/batch",
                token=token,
                path_parameters={"id": rid},
                body={"batch_id": "bench-batch"},
            )

        route("POST /registrations/{id}/batch", "join_batch", join_event)
        route("GET /health", "health", lambda: api_event("GET", "/health", "/health"))

        def reset_request_event() -> dict[str, Any]:
            _, p, _ = verified()
            return api_event("POST", "/password-resets", "/password-resets", body={"email": p["email"]})

        route("POST /password-resets", "request_password_reset", reset_request_event)

        def reset_confirm_event() -> dict[str, Any]:
            from prakerja.adapters.keys import reset_key
            from prakerja.domain.security import reset_code, sha256_hex

            rid, p, _ = verified()
            invoke(
                "request_password_reset",
                api_event("POST", "/password-resets", "/password-resets", body={"email": p["email"]}),
            )
            item = ddb.get_item(TableName=box.env["TABLE_NAME"], Key=reset_key(sha256_hex(p["email"])))["Item"]
            code = reset_code(keys().code, rid, item["nonce"]["S"])
            payload = {"email": p["email"], "code": code, "new_password": "another-secret-9"}  # nosec B105 # synthetic benchmark person
            return api_event("POST", "/password-resets/confirm", "/password-resets/confirm", body=payload)

        route("POST /password-resets/confirm", "confirm_password_reset", reset_confirm_event)

        def sign_out_event() -> dict[str, Any]:
            _, _, token = verified()
            return api_event("DELETE", "/sessions/current", "/sessions/current", token=token)

        route("DELETE /sessions/current", "delete_session", sign_out_event)

        def personal_data_event() -> dict[str, Any]:
            rid, _, token = verified()
            path = f"/registrations/{rid}/personal-data"
            return api_event("GET", "/registrations/{id}/personal-data", path, token=token, path_parameters={"id": rid})

        route("GET /registrations/{id}/personal-data", "get_personal_data", personal_data_event)

        def delete_event() -> dict[str, Any]:
            rid, p, token = verified()
            ddb.update_item(  # with an accepted photo: one S3 delete
                TableName=box.env["TABLE_NAME"],
                Key=reg_key(rid),
                UpdateExpression="SET photo_key = :k, photo_upload_key = :k",
                ExpressionAttributeValues={":k": {"S": f"uploads/{rid}/bench"}},
            )
            return api_event(
                "DELETE",
                "/registrations/{id}",
                f"/registrations/{rid}",
                token=token,
                path_parameters={"id": rid},
                body={"password": p["password"]},
            )

        route("DELETE /registrations/{id}", "delete_registration", delete_event)

    ok = True
    print(f"{'route':<52}{'status':>7}{'calls':>7}  target  calls made")
    for name, total, calls, status in rows:
        target = TARGETS.get(name, 3)
        flag = "ok" if total <= target else "OVER"
        ok &= total <= target
        print(f"{name:<52}{status:>7}{total:>7}  <= {target} {flag:<4} {', '.join(calls)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
