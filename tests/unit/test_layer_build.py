"""The shared layer ships the prakerja package as bytecode Lambda can use as is.

Lambda's file system is read-only and a zip keeps file times to 2 s only: source alone would be
compiled on every cold start, and timestamp-checked bytecode would look stale after unzipping.
src/Makefile (`sam build`'s BuildMethod makefile) compiles with unchecked hashes instead.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import subprocess  # nosec B404 # runs make on the project's own Makefile
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _pyc_flags(path: Path) -> int:
    # PEP 552: 4 bytes magic, then a 32-bit flags field (bit 0: hash-based, bit 1: check_source)
    return int.from_bytes(path.read_bytes()[4:8], "little")


def test_every_module_of_the_package_is_shipped_with_unchecked_hash_bytecode(tmp_path: Path) -> None:
    dest = tmp_path / "python"
    subprocess.run(  # nosec B603 B607 # fixed argv
        ["make", "-s", "-C", str(ROOT / "src"), "package-code", f"PYTHON={sys.executable}", f"DEST={dest}"],
        check=True,
    )
    sources = sorted((dest / "prakerja").rglob("*.py"))
    expected = sorted(p.relative_to(ROOT / "src") for p in (ROOT / "src" / "prakerja").rglob("*.py"))
    assert [p.relative_to(dest) for p in sources] == expected
    for source in sources:
        compiled = Path(importlib.util.cache_from_source(str(source)))
        assert compiled.is_file(), f"no bytecode for {source.relative_to(dest)}"
        assert _pyc_flags(compiled) == 0b01, f"{compiled.name}: not hash-based without source check"
    # data files the package reads at run time travel with it
    data = sorted(
        p.relative_to(ROOT / "src")
        for p in (ROOT / "src" / "prakerja").rglob("*")
        if p.is_file() and p.suffix not in {".py", ".pyc"} and "__pycache__" not in p.parts
    )
    assert all((dest / p).is_file() for p in data)


def test_the_shipped_bytecode_is_what_runs_whatever_the_sources_times(tmp_path: Path) -> None:
    dest = tmp_path / "python"
    subprocess.run(  # nosec B603 B607 # fixed argv
        ["make", "-s", "-C", str(ROOT / "src"), "package-code", f"PYTHON={sys.executable}", f"DEST={dest}"],
        check=True,
    )
    # As after unzipping, every source gets a new time; here each one would also fail if compiled:
    # the import below works only when Python runs the shipped bytecode without rereading them.
    for source in (dest / "prakerja").rglob("*.py"):
        source.write_text(source.read_text() + "\nraise RuntimeError('compiled from source')\n")
    probe = "import sys; sys.dont_write_bytecode = True; import prakerja.config, prakerja.http.api"
    subprocess.run(  # nosec B603 # fixed argv: this interpreter
        [sys.executable, "-c", probe], env={"PYTHONPATH": str(dest), "PATH": "/usr/bin:/bin"}, check=True
    )


# What the Lambda runtime brings: boto3 and its dependency tree.
RUNTIME_PROVIDED = {"boto3", "botocore", "jmespath", "urllib3", "python-dateutil", "s3transfer", "six"}


def _pins() -> dict[str, Requirement]:
    lines = (ROOT / "src" / "requirements.txt").read_text().splitlines()
    reqs = [Requirement(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return {canonicalize_name(r.name): r for r in reqs}


def test_the_layer_pins_every_dependency_it_needs_and_not_the_runtimes_sdk() -> None:
    """src/Makefile installs src/requirements.txt with --no-deps: the list must be whole."""
    pins = _pins()
    assert not RUNTIME_PROVIDED & set(pins), "boto3/botocore and their tree come with the runtime"
    for name, req in pins.items():
        assert len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==", f"{name} is not pinned"
        assert importlib.metadata.version(name) == next(iter(req.specifier)).version, f"{name}: installed != pin"
        for raw in importlib.metadata.requires(name) or []:
            dep = Requirement(raw)
            if dep.marker is not None and not any(
                dep.marker.evaluate({"extra": extra, "python_version": "3.13"}) for extra in req.extras or {""}
            ):
                continue
            dep_name = canonicalize_name(dep.name)
            assert dep_name in pins or dep_name in RUNTIME_PROVIDED, f"{name} needs {dep_name}: pin it"
