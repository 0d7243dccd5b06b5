from __future__ import annotations

import pytest

from registry.crypto import Vault, vault_from_settings
from registry.settings import Settings


@pytest.fixture(scope="session")
def vault(settings: Settings) -> Vault:
    return vault_from_settings(settings)
