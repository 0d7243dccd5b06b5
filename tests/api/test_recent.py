"""What an API worker keeps, and for how long (docs/performance.md, "What a worker keeps"):

* who is signed in (a bearer token's user active, a dashboard session alive) is re-checked
  at most ``REGISTRY_SIGNED_IN_RECHECK_SECONDS`` apart; signing out ends the session at
  once on the worker that signed it out;
* the progress figures and the dashboard's data are kept per scope for
  ``REGISTRY_FIGURES_CACHE_SECONDS``; a refused request is never kept.

The rest of the suite runs with both at 0 (tests/conftest.py); here an app of its own runs
with the production defaults on a clock the test moves. The figures are dated 2039, a year
no other test uses."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from registry.core.principal import system
from registry.core.settings import Settings
from registry.models.auth import User
from registry.progress import service
from tests.api.dashboard.test_pages import csrf_of, signed_in
from tests.api.support import PASSWORD, Make
from tests.factories import ended_cohort, enrolment_row, ensure_catalogue, new_institution, person_row
from tests.leaks import watched_client

RECHECK, FIGURES = 1.0, 10.0
"""The defaults (registry.core.settings)."""
YEAR = 2039


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def kept_client(settings: Settings, database: None, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        dataclasses.replace(settings, signed_in_recheck_seconds=RECHECK, figures_cache_seconds=FIGURES),
        manage_db=False,
    )
    # The app keeps for the settings' windows; the test moves the clock instead of waiting.
    assert (app.state.signed_in.seconds, app.state.figures.seconds) == (RECHECK, FIGURES)
    app.state.signed_in._clock = clock
    app.state.figures._clock = clock
    async with watched_client(httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def test_a_deactivated_user_is_refused_within_the_recheck_window(
    kept_client: httpx.AsyncClient, sign_in: Make, clock: Clock
) -> None:
    actor = await sign_in("admin")
    assert (await kept_client.get("/api/v1/institutions", headers=actor.headers)).status_code == 200
    await User.filter(id=actor.user_id).update(is_active=False)
    clock.sleep(RECHECK / 2)
    assert (await kept_client.get("/api/v1/institutions", headers=actor.headers)).status_code == 200
    clock.sleep(RECHECK / 2 + 0.01)
    r = await kept_client.get("/api/v1/institutions", headers=actor.headers)
    assert r.status_code == 401 and r.json()["code"] == "account_inactive"


async def test_a_changed_role_is_seen_within_the_recheck_window(
    kept_client: httpx.AsyncClient, sign_in: Make, clock: Clock
) -> None:
    actor = await sign_in("admin")
    assert (await kept_client.get("/api/v1/institutions", headers=actor.headers)).status_code == 200
    await User.filter(id=actor.user_id).update(role="auditor")
    clock.sleep(RECHECK + 0.01)
    body = {"username": f"u-{actor.user_id.hex[:8]}", "password": PASSWORD, "role": "auditor"}
    r = await kept_client.post("/api/v1/users", headers=actor.headers, json=body)
    assert r.status_code == 403 and "administrator" in r.json()["detail"], r.text


async def test_signing_out_ends_the_session_at_once(
    kept_client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    actor = await password_sign_in("auditor")
    answer = await signed_in(kept_client, actor.username)
    assert answer.status_code == 303
    page = await kept_client.get("/dashboard")
    assert page.status_code == 200
    cookie = kept_client.cookies.get("registry_session") or ""
    assert (await kept_client.post("/dashboard/sign-out", data={"csrf": csrf_of(page)})).status_code == 303
    kept_client.cookies.clear()
    kept_client.cookies.set("registry_session", cookie)
    assert (await kept_client.get("/dashboard")).status_code == 303  # no wait: this worker forgot it


async def _trained(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    r = await client.get(f"/api/v1/progress?year={YEAR}", headers=headers)
    assert r.status_code == 200, r.text
    return next(m["value"] for m in r.json()["metrics"] if m["metric"] == "trainees_trained")


async def test_the_figures_are_kept_per_scope_for_the_window(
    kept_client: httpx.AsyncClient, sign_in: Make, divisions: None, clock: Clock
) -> None:
    await ensure_catalogue()
    inst = await new_institution("410323")
    cohort = await ended_cohort(inst, dt.date(YEAR, 3, 10), division="410323")
    await enrolment_row(cohort, await person_row())
    await service.rollup(system("test"), dt.date(YEAR, 3, 31))
    city, county = await sign_in("auditor"), await sign_in("auditor", division="410302")

    assert await _trained(kept_client, city.headers) == 1
    assert await _trained(kept_client, county.headers) == 0  # another scope, computed for itself
    institution = await sign_in("institution")
    refused = await kept_client.get(f"/api/v1/progress?year={YEAR}", headers=institution.headers)
    assert refused.status_code == 404

    await enrolment_row(cohort, await person_row())
    await service.rollup(system("test"), dt.date(YEAR, 3, 31))
    clock.sleep(FIGURES - 0.5)
    assert await _trained(kept_client, city.headers) == 1  # kept: at most FIGURES seconds old
    clock.sleep(0.51)
    assert await _trained(kept_client, city.headers) == 2
    refused = await kept_client.get(f"/api/v1/progress?year={YEAR}", headers=institution.headers)
    assert refused.status_code == 404
