"""The whole local stack in one process: moto, resources, functions, gateway, pollers, registry."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.local import overrides, principal
from infra.local.api_docs import DOCS_PATH, OPENAPI_PATH, ApiDocs
from infra.local.apigw import RouteTable, cors_config
from infra.local.events import EventSources, event_sources
from infra.local.functions import (
    FunctionSpec,
    LocalFunction,
    function_specs,
    layer_paths,
    merged_environment,
    module_names,
)
from infra.local.gateway import MAILBOX_PATH, ApiSettings, Gateway, GatewayServer
from infra.local.iam import function_policies
from infra.local.intrinsics import Resolver
from infra.local.limits import Limits, rules_of, throttles_of, trust_forwarded_for
from infra.local.limits import enabled as limits_enabled
from infra.local.mailbox import Mailbox
from infra.local.moto_server import MotoServer
from infra.local.names import ACCOUNT_ID, LOCAL_STACK_NAME
from infra.local.principal import ActingClient, as_principal
from infra.local.provision import Provisioner, ResourceValues
from infra.local.registry_process import RegistryProcess
from infra.local.settings import LocalSettings
from infra.local.sqs_poller import SqsPoller
from infra.local.stream_poller import StreamPoller
from infra.local.template import SERVERLESS_FUNCTION, Template, load_template, merge_globals
from infra.local.web_client import WEB_PREFIX, WebClient

log = logging.getLogger("infra.local.stack")
DUMMY_CREDENTIAL = "local"  # noqa: S105 - moto accepts any key


LOCAL_POOL_CONNECTIONS = 64


class LocalStack:
    def __init__(self, settings: LocalSettings) -> None:
        self.settings = settings
        self.stop_event = threading.Event()
        self.moto = MotoServer(settings.aws_port, settings.region)
        self.registry = RegistryProcess(settings.registry_port)
        self.template: Template | None = None
        self.functions: dict[str, LocalFunction] = {}
        self.sources = EventSources()
        self.values: ResourceValues | None = None
        self.gateway: GatewayServer | None = None
        self.pollers: list[SqsPoller | StreamPoller] = []
        self.environment: dict[str, str] = {}
        self.stage = overrides.LOCAL_STAGE
        self._clients: dict[str, Any] = {}

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        template = self.template = load_template(self.settings.template)  # fails before anything runs
        principal.install()  # before any client exists: every call says which function makes it
        self._prepare_process_environment()
        self.registry.start()
        self.moto.start()
        os.environ["AWS_ENDPOINT_URL"] = self.moto.url
        parameters = overrides.parameter_values(template.parameters, self.settings.registry_port)
        self.values = ResourceValues(template, self.settings.region, self.moto.port)
        resolver = Resolver(template, parameters, self.values.lookup, region=self.settings.region)
        Provisioner(
            template, resolver, self.values, self.settings.region, self.client, self.moto.queue_wait_defaults
        ).provision_all()
        specs = function_specs(template, resolver)
        if self.moto.iam is not None:
            functions = template.of_type(SERVERLESS_FUNCTION)
            self.moto.iam.set_policies(
                function_policies(
                    {lid: functions[lid] for lid in specs}, resolver.resolve, resources=template.resources
                )
            )
        self._prepare_functions(template, resolver, specs)
        self._verify_senders()
        self.sources = event_sources(specs, resolver)
        self._start_gateway(template, resolver, parameters)
        self._start_pollers()
        if self.registry.running:
            self.registry.wait_healthy()

    def stop(self) -> None:
        self.stop_event.set()
        for poller in self.pollers:
            poller.join(2)
        if self.gateway is not None:
            self.gateway.stop()
        self.registry.stop()
        self.moto.stop()

    def client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.session.Session().client(  # type: ignore[call-overload]
                service, region_name=self.settings.region, endpoint_url=self.moto.url
            )
        return self._clients[service]

    # -- steps --------------------------------------------------------------------------------------
    def _prepare_process_environment(self) -> None:
        """Every AWS client of this process (handlers included) talks to moto, in the local region."""
        service_endpoints = [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_")]
        for key in [*service_endpoints, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]:
            os.environ.pop(key, None)
        os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = self.settings.region
        os.environ.setdefault("AWS_ACCESS_KEY_ID", DUMMY_CREDENTIAL)
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", DUMMY_CREDENTIAL)
        # One process runs every handler (a thread per API connection) and poller: their shared
        # clients need more than botocore's 10 pooled connections (prakerja.runtime).
        os.environ.setdefault("AWS_MAX_POOL_CONNECTIONS", str(LOCAL_POOL_CONNECTIONS))

    def _prepare_functions(self, template: Template, resolver: Resolver, specs: Mapping[str, FunctionSpec]) -> None:
        self.environment = merged_environment(specs, overrides.env_overrides())
        os.environ.update(self.environment)
        paths = layer_paths(template, resolver) or [template.root / "src"]
        for path in reversed(paths):
            if path.is_dir() and str(path) not in sys.path:
                sys.path.insert(0, str(path))
        modules = module_names(list(specs.values()))
        self.functions = {lid: LocalFunction(spec, self.settings.region, modules[lid]) for lid, spec in specs.items()}

    def _verify_senders(self) -> None:
        sender = self.environment.get("SENDER_EMAIL")
        if sender:
            self.client("ses").verify_email_identity(EmailAddress=sender)

    def _start_gateway(self, template: Template, resolver: Resolver, parameters: Mapping[str, str]) -> None:
        apis = api_settings(template, resolver, parameters.get("Stage") or overrides.LOCAL_STAGE)
        self.stage = apis[None].stage
        web_root = template.root / "web"
        web = WebClient(web_root, connect_src=[self.moto.url]) if web_root.is_dir() else None  # photo POST to S3
        mailbox = Mailbox(self.moto.sent_emails_since)
        docs = ApiDocs(template.root / "docs" / "openapi.json")
        limits = local_limits(template, resolver) if limits_enabled(os.environ) else None
        gateway = Gateway(
            RouteTable(self.sources.routes),
            self.invoke,
            apis,
            mailbox.messages_for,
            web,
            docs,
            limits=limits,
            trust_xff=trust_forwarded_for(os.environ),
        )
        self.gateway = GatewayServer(gateway, self.settings.port)
        self.gateway.start()

    def _start_pollers(self) -> None:
        queue_urls = self._queue_urls()
        for sqs_source in self.sources.queues:
            url = queue_urls.get(sqs_source.queue_arn)
            if url is None:
                log.warning(
                    "SQS event source skipped: its queue is not created locally",
                    extra={"function": sqs_source.function},
                )
                continue
            self.pollers.append(
                SqsPoller(
                    sqs_source,
                    url,
                    self._invoker(sqs_source.function),
                    ActingClient(self.client("sqs"), sqs_source.function),  # the mapping uses the function's role
                    self.settings.region,
                    self.stop_event,
                )
            )
        for stream in self.sources.streams:
            destination = queue_urls.get(stream.on_failure_arn or "")
            self.pollers.append(
                StreamPoller(
                    stream,
                    self._invoker(stream.function),
                    ActingClient(self.client("dynamodbstreams"), stream.function),
                    self.settings.region,
                    self.stop_event,
                    function_arn=self.functions[stream.function].arn,
                    on_failure=as_principal(stream.function, self._sender(destination)) if destination else None,
                    forget_iterator=self.moto.forget_shard_iterator,
                    read_through=self.moto.stream_consumer(stream.stream_arn, stream.function),
                )
            )
        for poller in self.pollers:
            poller.start()

    def _queue_urls(self) -> dict[str, str]:
        created = self.values.created if self.values is not None else {}
        return {str(v["Arn"]): str(v["QueueUrl"]) for v in created.values() if "QueueUrl" in v}

    def _sender(self, url: str) -> Any:
        sqs = self.client("sqs")  # created here, on the main thread
        return lambda body: sqs.send_message(QueueUrl=url, MessageBody=body)

    def _invoker(self, function: str) -> Any:
        return lambda event: self.invoke(function, event)

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        return self.functions[function].invoke(event)

    # -- banner -------------------------------------------------------------------------------------
    def banner(self) -> str:
        gateway = self.gateway.url if self.gateway else "-"
        lines = [
            f"prakerja local stack ({LOCAL_STACK_NAME}) from {_relative(self.settings.template)}",
            f"  API gateway       {gateway}   (REST proxy events, stage {self.stage})",
            f"  mailbox           {gateway}{MAILBOX_PATH}?to=<email>",
            f"  web client        {gateway}{WEB_PREFIX}   (web/, open it in a browser)",
            f"  API reference     {gateway}{DOCS_PATH}   (Swagger UI; the document: {gateway}{OPENAPI_PATH})",
            f"  AWS (moto)        {self.moto.url}   region {self.settings.region}, account {ACCOUNT_ID}"
            f"   (export AWS_ENDPOINT_URL={self.moto.url})",
            f"  registry          {self.registry.url if self.registry.running else 'not running'}",
            f"  IAM               {'enforced per function' if self.moto.iam else 'OFF (PRAKERJA_LOCAL_IAM=off)'}",
            f"  faults            {self.moto.faults.snapshot()['spec'] if self.moto.faults else ''}"
            f"{'' if self.moto.faults and self.moto.faults.rules else 'none (PRAKERJA_LOCAL_FAULTS)'}",
            "  routes:",
            *[f"    {r.method:<7} {r.path:<48} -> {r.function}" for r in self.sources.routes],
            "  event sources:",
            *[
                f"    SQS {s.queue_arn.rsplit(':', 1)[-1]} -> {s.function} (batch {s.batch_size}, "
                f"concurrency {s.concurrency})"
                for s in self.sources.queues
            ],
            *[
                f"    DynamoDB stream {s.stream_arn.split('/')[1]} -> {s.function} (batch {s.batch_size})"
                for s in self.sources.streams
            ],
            "  resources:",
            *[
                f"    {lid:<28} {v.get('name') or v.get('Ref')}"
                for lid, v in (self.values.created.items() if self.values else [])
            ],
        ]
        return "\n".join(lines)


def local_limits(template: Template, resolver: Resolver) -> Limits:
    """The stage throttles of the (first) Api's MethodSettings and the WAF rate rules exported in
    ApiWebAcl.Metadata.RateLimits (parameters resolved, e.g. RegistrationRateLimit)."""
    method_settings: list[dict[str, Any]] = []
    for resource in template.of_type("AWS::Serverless::Api").values():
        if resolver.included(resource):
            method_settings.extend(resolver.resolve((resource.get("Properties") or {}).get("MethodSettings") or []))
    rate_limits: list[dict[str, Any]] = []
    for resource in template.of_type("AWS::WAFv2::WebACL").values():
        if resolver.included(resource):
            rate_limits.extend(resolver.resolve((resource.get("Metadata") or {}).get("RateLimits") or []))
    return Limits(throttles_of(method_settings), rules_of(rate_limits))


def api_settings(template: Template, resolver: Resolver, stage: str) -> dict[str | None, ApiSettings]:
    """Per AWS::Serverless::Api (by logical id), plus None for routes without RestApiId."""
    globals_api = template.globals.get("Api") or {}
    result: dict[str | None, ApiSettings] = {None: _api_settings(globals_api, resolver, stage)}
    apis = {lid: res for lid, res in template.of_type("AWS::Serverless::Api").items() if resolver.included(res)}
    for lid, resource in apis.items():
        result[lid] = _api_settings(merge_globals(globals_api, resource.get("Properties") or {}), resolver, stage)
    if len(apis) == 1:
        result[None] = result[next(iter(apis))]
    return result


def _api_settings(props: Mapping[str, Any], resolver: Resolver, stage: str) -> ApiSettings:
    default_5xx = (props.get("GatewayResponses") or {}).get("DEFAULT_5XX") or {}
    return ApiSettings(
        stage=resolver.resolve_str(props["StageName"]) if props.get("StageName") else stage,
        cors=cors_config(resolver.resolve(props.get("Cors"))),
        error_status=int(resolver.resolve(default_5xx.get("StatusCode", 502))),
    )


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
