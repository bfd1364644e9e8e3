"""Process settings of the local stack (ports, region, template), read from the environment once."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from infra.local.names import (
    DEFAULT_AWS_PORT,
    DEFAULT_PORT,
    DEFAULT_REGION,
    DEFAULT_REGISTRY_PORT,
    DEFAULT_TEMPLATE,
    HOST,
)


class SettingsError(ValueError):
    """An invalid environment setting; the message names the variable."""


@dataclass(frozen=True)
class LocalSettings:
    port: int
    aws_port: int
    registry_port: int
    region: str
    template: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, template: Path | None = None) -> LocalSettings:
        env = os.environ if environ is None else environ
        registry_port = _port(env, "PRAKERJA_REGISTRY_PORT", DEFAULT_REGISTRY_PORT)
        return cls(
            port=_port(env, "PRAKERJA_PORT", DEFAULT_PORT),
            aws_port=_port(env, "PRAKERJA_AWS_PORT", DEFAULT_AWS_PORT),
            registry_port=registry_port or free_port(),  # the stand-in is told its port, so pick one now
            region=env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or DEFAULT_REGION,
            template=(template or DEFAULT_TEMPLATE).resolve(),
        )


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a port number (0-65535), got {raw!r}") from None
    if not 0 <= value <= 65535:
        raise SettingsError(f"{name} must be a port number (0-65535), got {raw!r}")
    return value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])
