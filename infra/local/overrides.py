"""THE local-vs-deployed differences: template parameter values and environment overrides.

Everything else the functions see locally comes from template.yaml itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from infra.local.names import HOST

LOCAL_STAGE = "local"
LOCAL_SENDER = "no-reply@prakerja.local"
ENV_OVERRIDE_PREFIX = "PRAKERJA_LOCAL_"


def local_parameter_overrides(registry_port: int) -> dict[str, str]:
    """Template parameter name -> local value. `SenderEmail` only replaces an empty default."""
    return {
        "Stage": LOCAL_STAGE,
        "RegistryUrl": f"http://{HOST}:{registry_port}",
        "SenderEmail": LOCAL_SENDER,
        # Locally the web client is served by the gateway on the API's own origin (/app/); any
        # origin may call the loopback API, as before the web client existed.
        "WebAllowedOrigin": "*",
    }


_ONLY_WHEN_DEFAULT_EMPTY = frozenset({"SenderEmail"})


def parameter_values(definitions: Mapping[str, Mapping[str, Any]], registry_port: int) -> dict[str, str]:
    """The value of every template parameter in the local stack: its Default, or the local override."""
    overrides = local_parameter_overrides(registry_port)
    values: dict[str, str] = {}
    for name, definition in definitions.items():
        default = definition.get("Default")
        text = "" if default is None else _text(default)
        if name in overrides and not (name in _ONLY_WHEN_DEFAULT_EMPTY and text):
            text = overrides[name]
        values[name] = text
    return values


def env_overrides(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Function environment overrides from the process: PRAKERJA_LOCAL_TOKEN_TTL_S=5 -> TOKEN_TTL_S=5."""
    source = os.environ if environ is None else environ
    return {
        key[len(ENV_OVERRIDE_PREFIX) :]: value
        for key, value in source.items()
        if key.startswith(ENV_OVERRIDE_PREFIX) and len(key) > len(ENV_OVERRIDE_PREFIX)
    }


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)
