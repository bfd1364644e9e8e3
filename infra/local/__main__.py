"""`python -m infra.local [--template PATH]`: run the local stack in the foreground until Ctrl-C/SIGTERM.

Ports: PRAKERJA_PORT (API, 3000), PRAKERJA_AWS_PORT (moto, 5000), PRAKERJA_REGISTRY_PORT (3100).
Prints a banner, then `READY` on its own line once everything serves.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import warnings
from pathlib import Path
from types import FrameType

from infra.local import logs, memory
from infra.local.faults import FaultInjector, FaultSpecError
from infra.local.iam import PolicyError, enforcement_on
from infra.local.names import DEFAULT_TEMPLATE
from infra.local.registry_process import RegistryError
from infra.local.settings import LocalSettings, SettingsError
from infra.local.stack import LocalStack
from infra.local.template import TemplateError


def main(argv: list[str] | None = None) -> int:
    memory.limit_arenas()  # before any thread starts
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--template",
        type=Path,
        default=DEFAULT_TEMPLATE,
        help="SAM template to run (default: template.yaml at the repository root)",
    )
    parser.add_argument("--debug", action="store_true", help="debug logging (skipped resources, pollers)")
    args = parser.parse_args(argv)
    logs.configure(10 if args.debug else 20)
    # Powertools warns on every invocation that publishes no metric; locally that is only noise.
    warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
    try:
        settings = LocalSettings.from_env(template=args.template)
        FaultInjector.from_env(lambda environ, start_response: [], os.environ)  # a bad spec stops us here
        enforcement_on(os.environ)
    except (SettingsError, FaultSpecError, PolicyError) as exc:
        sys.stderr.write(f"local stack: {exc}\n")
        return 2
    stack = LocalStack(settings)
    stopping = _install_signal_handlers(stack)
    try:
        stack.start()
    except (TemplateError, FaultSpecError, PolicyError, RegistryError, OSError) as exc:
        sys.stderr.write(f"local stack: cannot start: {exc}\n")
        stack.stop()
        return 2 if isinstance(exc, (TemplateError, FaultSpecError, PolicyError)) else 1
    except BaseException:
        stack.stop()
        raise
    memory.CollectorPolicy().install()  # short full collections while the data grows
    if not stopping.is_set():
        print(stack.banner(), flush=True)
        print("READY", flush=True)
    stopping.wait()
    sys.stderr.write("local stack: stopping\n")
    stack.stop()
    return 0


def _install_signal_handlers(stack: LocalStack):  # type: ignore[no-untyped-def]
    def _stop(signum: int, frame: FrameType | None) -> None:
        stack.stop_event.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stack.stop_event


if __name__ == "__main__":
    sys.exit(main())
