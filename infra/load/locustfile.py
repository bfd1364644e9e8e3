"""The funnel journey for Locust's own CLI, e.g. its distributed mode against a deployed stage:

    locust -f infra/load/locustfile.py --master --headless -u 2000 -r 50 -t 10m \\
        --host https://<api-id>.execute-api.<region>.amazonaws.com/<stage>
    locust -f infra/load/locustfile.py --worker --master-host <master>     # on each load machine

Each worker process walks LOAD_USERS registrants (default 1000) through the steps that need no
mailbox (register -> login answers 403 email-not-verified), with SES mailbox-simulator addresses.
Set LOAD_LOCAL=1 against a local stack (`make dev`) for the whole funnel with the dev mailbox.
`make load` (python -m infra.load) is the bounded single-machine run with the reconciliation.
"""

from __future__ import annotations

import os
import uuid

from infra.load.journey import FunnelUser, Plan

FunnelUser.plan = Plan(
    registrants=int(os.environ.get("LOAD_USERS", "1000")),
    run_id=uuid.uuid4().hex[:12],
    local=os.environ.get("LOAD_LOCAL", "0") == "1",
    status_reads=os.environ.get("LOAD_STATUS_READS", "0") == "1",
)

__all__ = ["FunnelUser"]
