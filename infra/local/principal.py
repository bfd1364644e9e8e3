"""Which function makes an AWS call: all functions run in one process, so the invoker sets a context
variable with the function's logical id and every botocore client of the process adds it to its
requests as the `X-Prakerja-Principal` header (a `before-send` hook, after signing, so the signature
is untouched). The local moto server's middlewares read it: IAM evaluates the function's policy and
the fault injector knows the call comes from a function.

Threads started inside a handler do not inherit the context variable (`threading.Thread` and
`ThreadPoolExecutor` do not copy contexts): their calls go out without a principal, which the local
IAM allows. The handlers of this project make their calls on the invocation's thread.
"""

from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

HEADER = "X-Prakerja-Principal"
PRINCIPAL_ENVIRON = "HTTP_X_PRAKERJA_PRINCIPAL"
CURRENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("prakerja_principal", default=None)
_installed = threading.Lock()
_done = False


@contextmanager
def acting_as(logical_id: str | None) -> Iterator[None]:
    """Calls made inside the block are made by `logical_id` (None: by nobody in particular)."""
    token = CURRENT.set(logical_id)
    try:
        yield
    finally:
        CURRENT.reset(token)


def _add_header(request: Any, **_: Any) -> None:
    principal = CURRENT.get()
    if principal:
        request.headers[HEADER] = principal


def register(client: Any) -> Any:
    """Tag one client's requests with the current principal (idempotent per client)."""
    client.meta.events.register_first("before-send.*.*", _add_header, unique_id="prakerja-principal")
    return client


def install() -> None:
    """Every botocore client created from now on in this process tags its requests."""
    global _done
    import botocore.session

    with _installed:
        if _done:
            return
        original = botocore.session.Session.create_client

        @functools.wraps(original)
        def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
            return register(original(self, *args, **kwargs))

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
        _done = True


class ActingClient:
    """A client proxy whose calls are made as `logical_id` (the pollers: Lambda's event source
    mappings call SQS and DynamoDB Streams with the function's execution role)."""

    def __init__(self, client: Any, logical_id: str) -> None:
        self._client = register(client)
        self._principal = logical_id

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith("_"):
            return attribute
        principal = self._principal

        def call(*args: Any, **kwargs: Any) -> Any:
            with acting_as(principal):
                return attribute(*args, **kwargs)

        return call


def as_principal(logical_id: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` run as `logical_id`."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with acting_as(logical_id):
            return function(*args, **kwargs)

    return wrapper
