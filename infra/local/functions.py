"""The template's functions, run in this process.

Each AWS::Serverless::Function's module is imported from its file (CodeUri + Handler) under a
unique module name, lazily on its first invocation (the local "cold start"). All functions
share one process, so their environment variables are merged into os.environ before any
handler is imported; a variable with different values in two functions is reported
(POWERTOOLS_SERVICE_NAME excepted: the handlers set their service name in code).
"""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from infra.local.intrinsics import Resolver
from infra.local.names import ACCOUNT_ID, LOCAL_STACK_NAME, physical_name
from infra.local.principal import acting_as
from infra.local.template import SERVERLESS_FUNCTION, Template, TemplateError

log = logging.getLogger("infra.local.functions")
ALLOWED_ENV_CONFLICTS = frozenset({"POWERTOOLS_SERVICE_NAME"})
LAYER = "AWS::Serverless::LayerVersion"


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    timeout_s: float
    memory_mb: int
    environment: dict[str, str]
    events: dict[str, dict[str, Any]] = field(default_factory=dict)


def function_specs(template: Template, resolver: Resolver) -> dict[str, FunctionSpec]:
    specs: dict[str, FunctionSpec] = {}
    for lid, resource in template.of_type(SERVERLESS_FUNCTION).items():
        if not resolver.included(resource):
            continue
        props = resource.get("Properties") or {}
        code_uri = props.get("CodeUri")
        if not isinstance(code_uri, str) or not props.get("Handler"):
            log.warning("function skipped: needs a local CodeUri path and a Handler", extra={"function": lid})
            continue
        variables = (props.get("Environment") or {}).get("Variables") or {}
        environment = {key: resolver.resolve_str(value) for key, value in resolver.resolve(variables).items()}
        specs[lid] = FunctionSpec(
            logical_id=lid,
            name=physical_name(lid, SERVERLESS_FUNCTION),
            code_dir=(template.root / code_uri).resolve(),
            handler=str(props["Handler"]),
            timeout_s=float(resolver.resolve(props.get("Timeout", 3))),
            memory_mb=int(resolver.resolve(props.get("MemorySize", 128))),
            environment=environment,
            events=props.get("Events") or {},
        )
    return specs


def layer_paths(template: Template, resolver: Resolver) -> list[Path]:
    """Local ContentUri directories of the template's layers (what Lambda would put on sys.path)."""
    paths = []
    for resource in template.of_type(LAYER).values():
        content = (resource.get("Properties") or {}).get("ContentUri")
        if resolver.included(resource) and isinstance(content, str):
            path = (template.root / content).resolve()
            paths.append(path / "python" if (path / "python").is_dir() else path)
    return paths


def merged_environment(specs: Mapping[str, FunctionSpec], overrides: Mapping[str, str]) -> dict[str, str]:
    """The union of the functions' variables (first function wins a conflict), then the overrides."""
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for lid in sorted(specs):
        for key, value in specs[lid].environment.items():
            if key in merged and merged[key] != value and key not in ALLOWED_ENV_CONFLICTS:
                log.warning(
                    "environment variable differs between functions; one process can hold one value",
                    extra={"variable": key, "kept_from": owner[key], "ignored_from": lid},
                )
            if key not in merged:
                merged[key], owner[key] = value, lid
    merged.update(overrides)
    return merged


class LambdaContext:
    """What Lambda passes as `context` (the attributes Powertools and handlers read)."""

    def __init__(self, spec: FunctionSpec, region: str) -> None:
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{spec.name}"
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{LOCAL_STACK_NAME}"
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + spec.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalFunction:
    """One function: lazy import of its handler, then invocations (from any thread)."""

    def __init__(self, spec: FunctionSpec, region: str, module: str | None = None) -> None:
        self.spec = spec
        self.module = module or module_names([spec])[spec.logical_id]
        self._region = region
        self._handler: Callable[[Any, Any], Any] | None = None
        self._lock = threading.Lock()

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self._region}:{ACCOUNT_ID}:function:{self.spec.name}"

    def invoke(self, event: Any) -> Any:
        handler = self._handler or self._cold_start()
        context = LambdaContext(self.spec, self._region)
        started = time.monotonic()
        try:
            with acting_as(self.spec.logical_id):  # its AWS calls carry its principal (local IAM)
                return handler(event, context)
        finally:
            elapsed = time.monotonic() - started
            if elapsed > self.spec.timeout_s:
                log.warning(
                    "invocation took longer than the function's Timeout (Lambda would have stopped it)",
                    extra={
                        "function": self.spec.logical_id,
                        "elapsed_s": round(elapsed, 2),
                        "timeout_s": self.spec.timeout_s,
                    },
                )

    def _cold_start(self) -> Callable[[Any, Any], Any]:
        with self._lock:
            if self._handler is None:
                started = time.monotonic()
                self._handler = load_handler(self.spec, self.module)
                log.info(
                    "cold start",
                    extra={"function": self.spec.logical_id, "init_ms": round((time.monotonic() - started) * 1000)},
                )
            return self._handler


def module_names(specs: list[FunctionSpec]) -> dict[str, str]:
    """`functions/register/` + `app.handler` -> `lambda_register_app`; the logical id is appended
    when two functions would get the same name."""
    names: dict[str, str] = {}
    for spec in sorted(specs, key=lambda s: s.logical_id):
        base = re.sub(r"\W", "_", f"lambda_{spec.code_dir.name}_{spec.handler.rsplit('.', 1)[0]}")
        names[spec.logical_id] = base if base not in names.values() else f"{base}_{spec.logical_id}"
    return names


def load_handler(spec: FunctionSpec, module: str) -> Callable[[Any, Any], Any]:
    module_path, _, attribute = spec.handler.rpartition(".")
    if not module_path:
        raise TemplateError(f"{spec.logical_id}: Handler must look like module.function")
    source = spec.code_dir.joinpath(*module_path.split(".")).with_suffix(".py")
    handler = getattr(_import_file(module, source), attribute, None)
    if not callable(handler):
        raise TemplateError(f"{spec.logical_id}: {source.name} has no callable {attribute}")
    return handler  # type: ignore[no-any-return]


def _import_file(name: str, source: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, source)
    if spec is None or spec.loader is None or not source.is_file():
        raise TemplateError(f"cannot import {source}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
