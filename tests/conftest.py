"""Shared fixtures: the bundled knowledge base (loaded once), writable copies of it, and a CLI runner."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from policykb.cli import main
from policykb.kb.layout import Layout, bundled_root
from policykb.kb.load import load

DATA = Path(__file__).parent / "data"


def read_yaml(name: str):
    with open(DATA / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="session")
def kb():
    """The bundled knowledge base, loaded once for read-only tests."""
    return load(Layout.bundled())


@pytest.fixture
def kb_dir(tmp_path) -> Path:
    """A writable copy of the bundled layout (kb/, ontology/, rules/, queries/) for tests that change it."""
    root = bundled_root()
    target = tmp_path / "project"
    for name in ("kb", "ontology", "rules", "queries"):
        if (root / name).is_dir():
            shutil.copytree(root / name, target / name)
    return target


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `policykb ARGS…` in-process; returns exit code, stdout and stderr. Tables are printed at full
    width whatever the COLUMNS of the shell that runs the tests (a test may set it)."""
    monkeypatch.delenv("COLUMNS", raising=False)

    def run(*args: str) -> Run:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


REQUIRE_TOOLS = "POLICYKB_REQUIRE_BROWSER"


def tool(name: str, package: str) -> str:
    """The path of a system program a test needs (chromium, pdftotext). Without it the test is skipped,
    unless POLICYKB_REQUIRE_BROWSER=1 (as CI sets it), where a missing program fails with the command
    that installs it."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed: apt-get install -y {package}"
    if os.environ.get(REQUIRE_TOOLS) == "1":
        pytest.fail(message + f" ({REQUIRE_TOOLS}=1 requires it)")
    pytest.skip(message)
