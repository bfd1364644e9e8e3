"""Local stacks started from an edited copy of template.yaml (IAM and fault tests)."""

from __future__ import annotations

import re
from pathlib import Path

from infra.launcher import ROOT, LocalStack
from tests.e2e.people import write_fixture


def template_copy(directory: Path, replacements: dict[str, str]) -> Path:
    """template.yaml with text replaced (each must occur exactly once) and code paths made absolute,
    so the copy runs from anywhere."""
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert text.count(old) == 1, f"the template no longer holds exactly one {old.splitlines()[0].strip()!r}"
        text = text.replace(old, new)
    text = re.sub(r"(CodeUri|ContentUri): (functions/|src/)", lambda m: f"{m.group(1)}: {ROOT}/{m.group(2)}", text)
    path = directory / "template.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def stack_from_copy(directory: Path, replacements: dict[str, str], **env: str) -> LocalStack:
    """A started local stack running the edited copy, with the e2e suite's registry people and timings."""
    template = template_copy(directory, replacements)
    settings = {
        "PRAKERJA_REGISTRY_FIXTURE": str(write_fixture(directory / "people.jsonl")),
        "PRAKERJA_REGISTRY_LATENCY_MS": "0",
        "BREAKER_COOLDOWN_S": "3",
        "NIK_BACKOFF_BASE_S": "1",
        "NIK_BACKOFF_CAP_S": "4",
        "PRAKERJA_LOCAL_REGISTRY_TIMEOUT_S": "1",
        "PRAKERJA_LOCAL_POWERTOOLS_LOG_LEVEL": "WARNING",
        "PRAKERJA_LOCAL_LIMITS": "off",  # many requests from one address (test_limits_e2e.py turns them on)
        **env,
    }
    stack = LocalStack(settings, args=["--template", str(template)])
    stack.start()
    return stack
