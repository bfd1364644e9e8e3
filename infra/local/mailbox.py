"""`GET /_dev/mailbox?to=<email>`: the emails moto's SES has accepted, per recipient (local only)."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterable
from email.utils import getaddresses
from typing import Any


def messages_for(sent: Iterable[Any], address: str) -> list[dict[str, str]]:
    """Every sent message with `address` among its recipients (case-insensitive), oldest first."""
    wanted = address.strip().casefold()
    found = []
    for message in sent:
        subject, text = _content(message)
        for recipient in _recipients(message):
            if recipient.casefold() == wanted:
                found.append({"to": recipient, "subject": subject, "text": text})
    return found


def _recipients(message: Any) -> list[str]:
    destinations = getattr(message, "destinations", None) or {}
    if isinstance(destinations, dict):
        raw = [a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destinations.get(key) or []]
    else:
        raw = list(destinations)
    return [addr for _, addr in getaddresses(raw) if addr]


def _content(message: Any) -> tuple[str, str]:
    raw = getattr(message, "raw_data", None)
    if raw is not None:
        return _parse_raw(raw)
    if hasattr(message, "template"):
        return str(message.template), str(getattr(message, "template_data", ""))
    return str(getattr(message, "subject", "") or ""), str(getattr(message, "body", "") or "")


def _parse_raw(raw: str | bytes) -> tuple[str, str]:
    parsed = (
        email.message_from_bytes(raw, policy=email.policy.default)
        if isinstance(raw, bytes)
        else email.message_from_string(raw, policy=email.policy.default)
    )
    body = parsed.get_body(preferencelist=("plain", "html"))  # type: ignore[attr-defined]
    text = body.get_content() if body is not None else ""
    return str(parsed.get("Subject", "")), str(text)
