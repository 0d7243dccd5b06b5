"""The occupations the certificate tests issue for."""

from __future__ import annotations

import pytest

from registry.models.reference import Occupation
from tests.api.support import COOK, ELECTRICIAN, GROUP, WELDER


@pytest.fixture(scope="module", autouse=True)
async def occupations(database: None) -> None:
    for code, name, level in [
        (ELECTRICIAN, "电工", 4),
        (WELDER, "焊工", 4),
        (COOK, "中式烹调师", 4),
        (GROUP, "土木工程建筑施工人员", 3),
    ]:
        await Occupation.get_or_create(code=code, defaults={"name": name, "level": level})
