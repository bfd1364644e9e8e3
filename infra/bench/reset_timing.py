"""POST /password-resets for a known vs an unknown email: the same calls and similar time (no
enumeration by timing). Real handlers on the in-process moto sandbox; prints the AWS calls of
each and the median / p90 handler time over N requests (each on a fresh email, so the 60 s
cooldown never short-cuts the work).

    .venv/bin/python -m infra.bench.reset_timing [N]
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from typing import Any

from infra.bench.aws_calls import CALLS, counting
from infra.sandbox import FakeContext, api_event, load_handler, sandbox


def main(n: int = 60) -> int:
    with sandbox() as box:
        del box
        ctx = FakeContext()
        register, reset = load_handler("register"), load_handler("request_password_reset")

        def known() -> str:
            email = f"known-{uuid.uuid4().hex[:10]}@example.com"
            person = {"email": email, "password": "password-123", "full_name": "Budi", "phone": "081234567890"}  # nosec B105 # synthetic benchmark person
            created = register(api_event("POST", "/registrations", "/registrations", body=person), ctx)
            if created["statusCode"] != 201:
                raise RuntimeError(f"registration failed: {created['statusCode']}")
            return email

        def unknown() -> str:
            return f"ghost-{uuid.uuid4().hex[:10]}@example.com"

        def timed(email: str) -> tuple[float, list[str], int]:
            CALLS.clear()
            event = api_event("POST", "/password-resets", "/password-resets", body={"email": email})
            with counting():
                start = time.perf_counter()
                response: dict[str, Any] = reset(event, ctx)
                elapsed = time.perf_counter() - start
            return elapsed * 1000, sorted(CALLS.elements()), int(response["statusCode"])

        timed(unknown())  # warm: the cold start's secret read is not on the request path
        samples: dict[str, list[float]] = {"known": [], "unknown": []}
        calls: dict[str, list[str]] = {}
        for _ in range(n):
            for kind, make in (("known", known), ("unknown", unknown)):
                ms, made, status = timed(make())
                if status != 202:
                    raise RuntimeError(f"password reset request answered {status}")
                samples[kind].append(ms)
                calls[kind] = made
    print(f"{'email':<10}{'status':>7}{'median ms':>11}{'p90 ms':>9}  calls made")
    for kind, values in samples.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{kind:<10}{202:>7}{statistics.median(values):>11.2f}{p90:>9.2f}  {', '.join(calls[kind])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 60))
