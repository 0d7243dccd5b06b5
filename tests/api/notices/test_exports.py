"""The claim's spreadsheet and the public notice's over HTTP with what users wrote in them
(issue 15, item 15, found by a security probe): a cohort reference in Chinese was a 500
(``UnicodeEncodeError`` in ``Content-Disposition``), one with a quote and a semicolon added a
``filename`` parameter of its own, and a decision reason ``=HYPERLINK(...)`` was a formula
cell of the export."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import httpx
import pytest
from openpyxl import load_workbook

from registry.core.crypto import Vault, vault_from_settings
from registry.core.settings import Settings
from registry.models.subsidy import SubsidyLine
from registry.subsidy import claims
from tests.api.support import Api, Make, download_name, download_parameters
from tests.factories import Trainee, claimable_cohort, compute_filed, noticed_claim

pytestmark = pytest.mark.usefixtures("subsidy_policies", "working_day_calendar")

HYPERLINK = '=HYPERLINK("http://evil.example/claim","审核通过")'


@pytest.fixture(scope="session")
def vault(settings: Settings) -> Vault:
    return vault_from_settings(settings)


async def decided_claim(vault: Vault, auditor: Api, reference: str, reason: str) -> uuid.UUID:
    """A claim of a cohort named ``reference``, its clean line approved and its blocked one
    rejected with ``reason``, over HTTP."""
    cohort = await claimable_cohort(vault, [Trainee(), Trainee(hours=10)], reference=reference)
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, claims.SubsidyKind.TRAINING)
    await compute_filed(vault, filed.id)
    approved = await auditor.post(f"/claims/{filed.id}/decisions", {"approve_clean": True})
    assert approved.status_code == 200, approved.text
    blocked = await SubsidyLine.get(claim_id=filed.id, outcome="blocked")
    rejected = await auditor.post(
        f"/claims/{filed.id}/decisions",
        {"lines": [{"line_id": str(blocked.id), "decision": "rejected", "reason": reason}]},
    )
    assert rejected.status_code == 200, rejected.text
    return filed.id


async def test_a_claim_of_a_chinese_reference_exports_and_its_name_decodes(
    client: httpx.AsyncClient, sign_in: Make, vault: Vault
) -> None:
    auditor = Api(client, await sign_in("auditor", division="410305"))
    reference = f"洛阳市第{uuid.uuid4().hex[:6]}期无人机驾驶员培训班"
    claim_id = await decided_claim(vault, auditor, reference, HYPERLINK)

    export = await auditor.get(f"/claims/{claim_id}/export.xlsx")
    assert export.status_code == 200, export.text
    header = export.headers["content-disposition"]
    assert download_name(header) == f"claim-{reference}-{claim_id.hex[:8]}.xlsx"
    fallback = dict(download_parameters(header))["filename"]
    assert fallback.isascii() and fallback.startswith('"claim-') and fallback.endswith('.xlsx"')

    # The reason is in the sheet as it was written, as text: not a formula.
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    reasons = [row[11] for row in sheet.iter_rows() if row[11].value == HYPERLINK]
    assert len(reasons) == 1 and reasons[0].data_type == "s" and reasons[0].data_type != "f"
    headings = [cell for row in sheet.iter_rows(max_row=2) for cell in row if cell.value]
    assert any(reference in str(cell.value) for cell in headings)
    assert all(cell.data_type == "s" for cell in headings)


async def test_a_quote_and_semicolon_in_the_reference_add_no_parameter(
    client: httpx.AsyncClient, sign_in: Make, vault: Vault
) -> None:
    auditor = Api(client, await sign_in("auditor", division="410305"))
    reference = f'PRB-"F"; filename=evil.exe-{uuid.uuid4().hex[:4]}'
    claim_id = await decided_claim(vault, auditor, reference, "+1+cmd|' /C calc'!A0")

    export = await auditor.get(f"/claims/{claim_id}/export.xlsx")
    assert export.status_code == 200, export.text
    header = export.headers["content-disposition"]
    assert [key for key, _ in download_parameters(header)] == ["filename", "filename*"]
    assert header.count("filename=") == 1 and 'evil.exe"' not in header
    assert download_name(header) == f"claim-{reference}-{claim_id.hex[:8]}.xlsx"
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    assert not [cell for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]


async def test_the_public_notice_is_named_the_same_way(
    client: httpx.AsyncClient, sign_in: Make, vault: Vault
) -> None:
    _claim_id, notice_id, _cohort = await noticed_claim(
        vault, [Trainee()], published_on=dt.date(2026, 11, 2), reference=f"公示-{uuid.uuid4().hex[:6]}"
    )
    sheet = await client.get(f"/notices/{notice_id}/notice.xlsx")
    assert sheet.status_code == 200, sheet.text
    assert download_name(sheet.headers["content-disposition"]) == f"notice-{notice_id.hex[:8]}.xlsx"
    book = load_workbook(io.BytesIO(sheet.content)).active
    assert book is not None
    assert not [cell for row in book.iter_rows() for cell in row if cell.data_type == "f"]
