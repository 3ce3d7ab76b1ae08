"""Fixtures for tests of third-party plugins: the `acme` distribution, installed for real.

`tests/plugins/acme` is a separate distribution (its own pyproject.toml, entry point, catalog
and generated package). It is installed into the running environment once, with pip, the way
a user installs a plugin; its tests then opt in to it through MEDIAGEN_PLUGINS, which the rest
of the suite keeps empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from helpers import install_editable

from mediagen import registry as registry_module
from mediagen.loop import LoopThread

from .acme_server import AcmeServer

ACME_ROOT = Path(__file__).resolve().parent / "acme"


@pytest.fixture(scope="session")
def acme_installed() -> Path:
    """`pip install -e tests/plugins/acme` into this environment, unless it is there."""
    return install_acme()


def install_acme() -> Path:
    """The acme_installed fixture's work, for a module that needs acme at collection time."""
    return install_editable(ACME_ROOT, "mediagen-acme")


@pytest.fixture
def acme(acme_installed: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """This test loads the acme entry point (and only it), with a fresh default registry and
    its own journal; returns the acme distribution's root."""
    monkeypatch.setenv("MEDIAGEN_PLUGINS", "acme")
    monkeypatch.setenv("MEDIAGEN_JOURNAL", str(tmp_path / "journal.sqlite3"))
    monkeypatch.setattr(registry_module, "_default", None)
    return acme_installed


@pytest.fixture
def acme_server() -> Iterator[AcmeServer]:
    server = AcmeServer()
    loop = LoopThread("acme-server")

    async def start() -> web.AppRunner:
        runner = web.AppRunner(server.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        server.url = f"http://127.0.0.1:{port}"
        return runner

    runner = loop.run(start())
    try:
        yield server
    finally:
        loop.run(runner.cleanup())
        loop.close()
