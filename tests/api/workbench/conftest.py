from __future__ import annotations

import pytest

from registry.core.crypto import Vault, vault_from_settings
from registry.core.settings import Settings


@pytest.fixture(scope="session")
def vault(settings: Settings) -> Vault:
    return vault_from_settings(settings)
