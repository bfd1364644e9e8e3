"""`GET /_dev/mailbox?to=<email>`: the emails moto's SES has accepted, per recipient (local only)."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Callable
from email.utils import getaddresses
from typing import Any


class Mailbox:
    """The sent emails indexed by recipient (case-insensitive), built as they arrive.

    Each read takes only the messages sent since the previous read from moto (under moto's lock,
    a slice of its list), parses each of them once and files it under every recipient, so a read
    costs what is new plus the reader's own messages, not every email ever sent.
    """

    def __init__(self, sent_since: Callable[[int], list[Any]]) -> None:
        self._sent_since = sent_since  # messages from this index of moto's sent list on, oldest first
        self._seen = 0
        self._by_recipient: dict[str, list[dict[str, str]]] = {}
        self._lock = threading.Lock()

    def messages_for(self, address: str) -> list[dict[str, str]]:
        """Every sent message with `address` among its recipients, oldest first."""
        with self._lock:
            new = self._sent_since(self._seen)
            self._seen += len(new)
            for message in new:
                subject, text = _content(message)
                for recipient in _recipients(message):
                    entry = {"to": recipient, "subject": subject, "text": text}
                    self._by_recipient.setdefault(recipient.casefold(), []).append(entry)
            return list(self._by_recipient.get(address.strip().casefold(), []))


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
