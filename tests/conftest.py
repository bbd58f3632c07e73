"""Shared fixtures: the bundled knowledge base (loaded once), writable copies of it, a CLI runner, and a page in a
real headless browser (`browser_page`)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from policykb.cli import main
from policykb.kb.generations import Generations
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
def kb_dir(tmp_path, kb) -> Path:
    """A writable copy of the bundled layout (kb/, ontology/, rules/, queries/) for tests that change it,
    with a copy of the bundled knowledge base's derived store, so that a test's first command brings it
    in step with its files instead of building it from nothing (tests/test_store.py builds from nothing)."""
    root = bundled_root()
    target = tmp_path / "project"
    for name in ("kb", "ontology", "rules", "queries"):
        if (root / name).is_dir():
            shutil.copytree(root / name, target / name)
    _copy_state(kb.layout.state_dir, Layout.at(target).state_dir)
    return target


def _copy_state(source: Path, target: Path) -> None:
    """The current store generation and the evidence index of a state folder (not its lock or scores)."""
    current = Generations(source / "oxigraph").current()
    if current is None:
        return
    shutil.copytree(current, target / "oxigraph" / current.name, ignore=shutil.ignore_patterns("LOCK"))
    (target / "oxigraph" / "CURRENT").write_text(current.name + "\n", encoding="utf-8")
    if (source / "evidence").is_dir():
        shutil.copytree(source / "evidence", target / "evidence")


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


# --- a real browser ---------------------------------------------------------------------------------
# Debian's Chromium driven by Playwright (a test tool's own browser download does not work offline).
# Without a browser the browser tests are skipped, unless POLICYKB_REQUIRE_BROWSER=1 (as where CI runs),
# in which case a missing browser fails with the command that installs it.

BROWSER_PATH = os.environ.get("POLICYKB_BROWSER", "/usr/bin/chromium")
BROWSER_INSTALL = "apt-get install -y chromium  (and pip install '.[test]' for Playwright)"


def _no_browser(what: str):
    message = f"{what}; install it with: {BROWSER_INSTALL}"
    if os.environ.get("POLICYKB_REQUIRE_BROWSER") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def _browser():
    """One headless Chromium for the whole test process (Playwright's sync API cannot be started twice in
    one process), for the query page's tests and the static site's."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the Playwright package is not installed")
    if not (os.path.isfile(BROWSER_PATH) and os.access(BROWSER_PATH, os.X_OK)):
        _no_browser(f"no browser at {BROWSER_PATH} (set POLICYKB_BROWSER to another Chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=BROWSER_PATH,
            # the flags keep Chromium from calling home (this machine has no network but loopback)
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture
def browser_page(_browser):
    """A fresh page (own cookies and storage) in headless Chromium; `page.problems` collects console errors,
    page errors and Content-Security-Policy violations."""
    context = _browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: page.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    yield page
    context.close()
