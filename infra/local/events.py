"""The functions' `Events`: API routes and the event source mappings the local pollers emulate."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.local.functions import FunctionSpec
from infra.local.intrinsics import Resolver
from infra.local.template import TemplateError

log = logging.getLogger("infra.local.events")
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


@dataclass(frozen=True)
class ApiRoute:
    function: str
    path: str
    method: str  # upper case; ANY matches every method
    api: str | None = None  # logical id of RestApiId, when set


@dataclass(frozen=True)
class SqsSource:
    function: str
    queue_arn: str
    batch_size: int = 10
    window_s: float = 0.0
    report_failures: bool = False
    concurrency: int = 2
    filters: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class StreamSource:
    function: str
    stream_arn: str
    starting_position: str = "TRIM_HORIZON"
    batch_size: int = 100
    window_s: float = 0.0
    bisect: bool = False
    report_failures: bool = False
    max_retries: int = -1  # -1: until the record expires
    max_record_age_s: int = -1
    on_failure_arn: str | None = None
    filters: tuple[dict[str, Any], ...] = ()


@dataclass
class EventSources:
    routes: list[ApiRoute] = field(default_factory=list)
    queues: list[SqsSource] = field(default_factory=list)
    streams: list[StreamSource] = field(default_factory=list)


def event_sources(specs: Mapping[str, FunctionSpec], resolver: Resolver) -> EventSources:
    found = EventSources()
    for lid, spec in specs.items():
        for event_name, event in spec.events.items():
            etype = event.get("Type")
            raw = event.get("Properties") or {}
            props = resolver.resolve(raw)
            if props.get("Enabled") is False or str(props.get("Enabled")).lower() == "false":
                log.info("event source disabled in the template", extra={"function": lid, "event": event_name})
            elif etype == "Api":
                found.routes.append(_route(lid, props, raw))
            elif etype == "SQS":
                found.queues.append(_sqs(lid, props))
            elif etype == "DynamoDB":
                found.streams.append(_stream(lid, props))
            else:
                log.info("event type not emulated locally", extra={"function": lid, "event": event_name, "type": etype})
    return found


def _route(lid: str, props: Mapping[str, Any], raw: Mapping[str, Any]) -> ApiRoute:
    api_ref = raw.get("RestApiId")
    api = api_ref.get("Ref") if isinstance(api_ref, dict) else None
    path = str(props["Path"])
    method = str(props["Method"]).upper()
    return ApiRoute(
        function=lid,
        path=path,
        method="ANY" if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method,
        api=api,
    )


def _sqs(lid: str, props: Mapping[str, Any]) -> SqsSource:
    scaling = props.get("ScalingConfig") or {}
    return SqsSource(
        function=lid,
        queue_arn=str(props["Queue"]),
        batch_size=int(props.get("BatchSize", 10)),
        window_s=float(props.get("MaximumBatchingWindowInSeconds", 0)),
        report_failures=REPORT_BATCH_ITEM_FAILURES in (props.get("FunctionResponseTypes") or []),
        concurrency=max(1, int(scaling.get("MaximumConcurrency", 2))),
        filters=_filters(lid, props),
    )


def _stream(lid: str, props: Mapping[str, Any]) -> StreamSource:
    on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    return StreamSource(
        function=lid,
        stream_arn=str(props["Stream"]),
        starting_position=str(props.get("StartingPosition", "TRIM_HORIZON")),
        batch_size=int(props.get("BatchSize", 100)),
        window_s=float(props.get("MaximumBatchingWindowInSeconds", 0)),
        bisect=str(props.get("BisectBatchOnFunctionError", False)).lower() == "true",
        report_failures=REPORT_BATCH_ITEM_FAILURES in (props.get("FunctionResponseTypes") or []),
        max_retries=int(props.get("MaximumRetryAttempts", -1)),
        max_record_age_s=int(props.get("MaximumRecordAgeInSeconds", -1)),
        on_failure_arn=str(on_failure) if on_failure else None,
        filters=_filters(lid, props),
    )


def _filters(lid: str, props: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    patterns = []
    for item in (props.get("FilterCriteria") or {}).get("Filters") or []:
        pattern = item.get("Pattern")
        try:
            parsed = json.loads(pattern) if isinstance(pattern, str) else pattern
        except ValueError:
            raise TemplateError(f"{lid}: a FilterCriteria pattern is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise TemplateError(f"{lid}: a FilterCriteria pattern must be a JSON object")
        patterns.append(parsed)
    return tuple(patterns)
