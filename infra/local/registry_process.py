"""The population-registry stand-in (`python -m infra.registry`) as a child process."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess  # nosec B404 # starts the registry stand-in
import sys
import threading
import time
import urllib.error
import urllib.request

from infra.local.names import HOST, ROOT

log = logging.getLogger("infra.local.registry")
PASS_THROUGH = (
    "PRAKERJA_REGISTRY_FIXTURE",
    "PRAKERJA_REGISTRY_FAILURE_RATE",
    "PRAKERJA_REGISTRY_LATENCY_MS",
    "PRAKERJA_REGISTRY_API_KEY",
    "PRAKERJA_REGISTRY_VERBOSE",
)


class RegistryError(RuntimeError):
    pass


class RegistryProcess:
    def __init__(self, port: int) -> None:
        self.port = port
        self._proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None

    def start(self) -> bool:
        """Start the stand-in; False (with a warning) when the module does not exist."""
        if importlib.util.find_spec("infra.registry") is None:
            log.warning("infra.registry not found: running without the registry stand-in")
            return False
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("PRAKERJA_REGISTRY_") or key in PASS_THROUGH
        }
        env["PRAKERJA_REGISTRY_PORT"] = str(self.port)
        self._proc = subprocess.Popen(  # nosec B603 # fixed argv: this interpreter, -m infra.registry
            [sys.executable, "-m", "infra.registry"],
            cwd=ROOT,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._pump, name="registry-output", daemon=True).start()
        return True

    def _pump(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None  # nosec B101 # type narrowing: set by start()
        for line in self._proc.stdout:
            sys.stderr.write(f"[registry] {line}")

    def wait_healthy(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                raise RegistryError(f"the registry stand-in exited with status {self._proc.returncode}")
            if self._healthy():
                return
            if time.monotonic() > deadline:
                raise RegistryError(f"the registry stand-in did not answer {self.url}/health in {timeout_s:g} s")
            time.sleep(0.1)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:  # nosec B310 # http://127.0.0.1 URL built here
                return int(response.status) == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
