"""Start the whole local stack (`python -m infra.local`) as a child process on free loopback
ports: used by the end-to-end tests and the benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalStack:
    def __init__(self, extra_env: dict[str, str] | None = None, args: list[str] | None = None) -> None:
        self.args = list(args or [])  # extra `python -m infra.local` arguments (e.g. --template PATH)
        self.port, self.aws_port, self.registry_port = free_port(), free_port(), free_port()
        self.env = {
            **os.environ,
            "PRAKERJA_PORT": str(self.port),
            "PRAKERJA_AWS_PORT": str(self.aws_port),
            "PRAKERJA_REGISTRY_PORT": str(self.registry_port),
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self.env.pop("AWS_ENDPOINT_URL", None)
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def registry_url(self) -> str:
        return f"http://127.0.0.1:{self.registry_port}"

    @property
    def aws_url(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"

    def start(self, timeout_s: float = 90) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "infra.local", *self.args],
            cwd=ROOT,
            env=self.env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        ready = threading.Event()

        def pump() -> None:
            assert self.proc and self.proc.stdout
            for line in self.proc.stdout:
                self.output.append(line)
                if len(self.output) > 5000:
                    del self.output[:1000]
                if line.strip() == "READY":
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout_s
        while not ready.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("local stack did not start:\n" + "".join(self.output[-80:]))

    def stop(self) -> None:
        log = os.environ.get("PRAKERJA_STACK_LOG")
        if log:
            Path(log).write_text("".join(self.output))
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
