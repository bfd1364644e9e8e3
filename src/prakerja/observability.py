"""Powertools Logger, Metrics and Tracer: one set per function (service name from the handler)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "Prakerja"


def observability(service: str) -> tuple[Logger, Metrics, Tracer]:
    logger = Logger(service=service)
    metrics = Metrics(namespace=NAMESPACE, service=service)
    tracer = Tracer(service=service)
    return logger, metrics, tracer
