from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from registry.core.crypto import Vault, vault_from_settings
from registry.core.settings import Settings
from tests.api.support import live_server


@pytest.fixture(scope="session")
def vault(settings: Settings) -> Vault:
    return vault_from_settings(settings)


# --- Chromium (the browser tests of this folder) ---------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def server(test_env: dict[str, str]) -> Iterator[str]:
    """The app on a live server against the test database (a missing browser: a failure under
    CI=true, else a skip)."""
    if not CHROMIUM.exists():
        message = (
            f"no browser at {CHROMIUM}: apt-get install chromium chromium-driver chromium-l10n fonts-noto-cjk"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with live_server(test_env) as url:
        yield url


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium through Playwright, in Chinese (the browser's own words too: file
    inputs and date fields, from chromium-l10n)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        launched = await p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage", "--lang=zh-CN"]
        )
        try:
            yield launched
        finally:
            await launched.close()
