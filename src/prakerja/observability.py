"""Powertools Logger, Metrics and Tracer: one set per function (service name from the handler).

Each function's Metrics gets its own EMF provider, hence its own metric store. Powertools'
`Metrics` otherwise shares one class-level metric set between all its instances: harmless in
Lambda (one function per process) but, on the local stack where every function runs in one
process, a `verify_email` flush would publish the `EmailSent` that `send_email` had just added.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from prakerja.runtime import settle

# A worker batch that changed no funnel step has no metric to publish: that is normal, not news.
warnings.filterwarnings("ignore", message="No application metrics to publish")

NAMESPACE = "Prakerja"


def observability(service: str, *, traced: tuple[str, ...] = ("botocore",)) -> tuple[Logger, Metrics, Tracer]:
    """`traced`: the libraries X-Ray patches for subsegments. Only what the function calls:
    patching every library X-Ray supports would import them all on each cold start."""
    logger = Logger(service=service)
    metrics = Metrics(
        namespace=NAMESPACE,
        service=service,
        provider=AmazonCloudWatchEMFProvider(namespace=NAMESPACE, service=service),
    )
    tracer = Tracer(service=service, patch_modules=traced)
    settle()
    return logger, metrics, tracer
