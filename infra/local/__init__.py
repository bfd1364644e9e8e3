"""The local stack (`make dev` = `python -m infra.local`): moto, the template's resources, the handlers
in-process behind an API Gateway stand-in, event-source pollers and the registry stand-in.

Offline helpers (no AWS, nothing started): `infra.local.names`.
"""
