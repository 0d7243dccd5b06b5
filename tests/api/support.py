"""What API tests share that is not a fixture: the signed-in actor, a small client wrapper,
request bodies and the problem-document check. Fixtures are in ``tests/api/conftest.py``;
database-level factories in ``tests/factories.py``."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import httpx

from registry.core.principal import Principal
from registry.enums import Role
from registry.models.institution import Institution
from tests.factories import TODAY, new_id_number
from tests.leaks import watched_client

OCCUPATION = "4-02-04-06"  # 无人机驾驶员, level 4
GROUP = "4-10-01-00"  # 生活照料服务人员, level 3 (a group, not an occupation)
PASSWORD = "correct horse battery"


@dataclass
class Actor:
    username: str
    headers: dict[str, str]
    user_id: uuid.UUID
    institution: Institution | None = None
    role: str = ""
    division: str | None = None

    @property
    def principal(self) -> Principal:
        """The signed-in user as the services see it (for a session made directly)."""
        return Principal(
            kind="user",
            id=self.user_id,
            role=Role(self.role),
            institution_id=self.institution.id if self.institution else None,
            division_code=self.division,
        )


Make = Callable[..., Awaitable[Actor]]


def new_number() -> str:
    return new_id_number("410305")


def body(*, running: bool = False, **overrides: Any) -> dict[str, Any]:
    """A valid vocational cohort, starting in two weeks (or two days ago: ``running``)."""
    start = TODAY - dt.timedelta(days=2) if running else TODAY + dt.timedelta(days=15)
    data: dict[str, Any] = {
        "reference": f"API-{uuid.uuid4().hex[:8]}",
        "name": "无人机驾驶员(五级)培训班",
        "kind": "vocational",
        "occupation_code": OCCUPATION,
        "certificate_kind": "skill_level",
        "certificate_level": 5,
        "training_mode": "order_based",
        "delivery": "in_person",
        "division_code": "410305",
        "planned_hours": 80,
        "start_date": start.isoformat(),
        "end_date": (start + dt.timedelta(days=45)).isoformat(),
        "capacity": 20,
    }
    data.update(overrides)
    return data


def item(number: str | None = None, name: str = "李四", **extra: Any) -> dict[str, Any]:
    return {"id_number": number or new_number(), "name": name, **extra}


class Api:
    """One actor's requests to ``/api/v1``."""

    def __init__(self, client: httpx.AsyncClient, actor: Actor):
        self.client = client
        self.actor = actor

    async def post(
        self, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return await self.client.post(
            f"/api/v1{path}", json=json, headers={**self.actor.headers, **(headers or {})}
        )

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(f"/api/v1{path}", headers=self.actor.headers)

    async def patch(self, path: str, json: Any) -> httpx.Response:
        return await self.client.patch(f"/api/v1{path}", json=json, headers=self.actor.headers)

    async def cohort(self, *, open_it: bool = True, **overrides: Any) -> dict[str, Any]:
        created = await self.post("/cohorts", body(**overrides))
        assert created.status_code == 201, created.text
        if open_it:
            opened = await self.post(f"/cohorts/{created.json()['id']}/open")
            assert opened.status_code == 200, opened.text
            return dict(opened.json())
        return dict(created.json())


def problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    data: dict[str, Any] = response.json()
    if code is not None:
        assert data["code"] == code, data
    return data


async def owner(client: httpx.AsyncClient, sign_in: Make, division: str = "410305") -> Api:
    """A training institution of ``division`` signed in, as an :class:`Api`."""
    from tests.factories import new_institution

    return Api(client, await sign_in("institution", institution=await new_institution(division)))


def roster_csv(*rows: tuple[str, str]) -> bytes:
    """A minimal roster file: a header and one (name, ID number) row each."""
    return ("姓名,身份证号\n" + "".join(f"{name},{number}\n" for name, number in rows)).encode()


# --- certificates ---------------------------------------------------------------------

URL = "/api/v1/certificates"
ELECTRICIAN, WELDER, COOK, GROUP = "6-31-01-03", "6-18-02-04", "4-03-02-01", "6-29-02-00"


def id_number(address: str = "410302") -> str:
    return new_id_number(address)


def certificate_number() -> str:
    return f"LY-{uuid.uuid4().hex[:14].upper()}"


def certificate_body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": certificate_number(),
        "kind": "skill_level",
        "occupation_code": ELECTRICIAN,
        "level": 4,
        "issue_date": "2025-06-01",
        "id_number": id_number(),
        "name": "王小明",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


async def issue(client: httpx.AsyncClient, actor: Actor, **overrides: Any) -> dict[str, Any]:
    response = await client.post(URL, json=certificate_body(**overrides), headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def addressed(app: Any, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` whose requests come from the socket address ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with watched_client(transport, base_url="http://testserver") as client:
        yield client


# --- the subsidy calculator ------------------------------------------------------------

EVALUATE = "/api/v1/subsidy/evaluate"
PRIORITY_OCCUPATION = "4-02-04-06"  # 无人机驾驶员: on the shipped reference priority list (2025-)
PLAIN_OCCUPATION = "6-02-06-04"  # 啤酒酿造工: not on it


def evaluate_body(**overrides: Any) -> dict[str, Any]:
    """A clean skill-level 4 line of a non-priority trade in 2025; keys set to ``...`` are dropped;
    ``cohort`` and ``certificate`` given as dicts update the defaults."""
    data: dict[str, Any] = {
        "cohort": {
            "kind": "vocational",
            "occupation_code": PLAIN_OCCUPATION,
            "certificate_kind": "skill_level",
            "certificate_level": 4,
            "startup_course": None,
            "planned_hours": 80,
            "start_date": "2025-03-03",
            "end_date": "2025-04-30",
            "training_mode": "general",
        },
        "institution_approved": True,
        "birth_date": "1990-06-15",
        "attended_hours": 80,
        "outcome": "completed",
        "certificate": {
            "kind": "skill_level",
            "level": 4,
            "occupation_code": PLAIN_OCCUPATION,
            "startup_course": None,
            "issue_date": "2025-05-20",
            "status": "valid",
            "is_renewal": False,
            "direct_recognition": False,
        },
        "history": [],
        "claim_date": "2025-06-10",
    }
    for key in ("cohort", "certificate"):
        if isinstance(overrides.get(key), dict):
            data[key] = {**data[key], **overrides.pop(key)}
    data.update(overrides)
    for part in (data, data.get("cohort"), data.get("certificate")):
        if not isinstance(part, dict):
            continue
        for key in [k for k, v in part.items() if v is ...]:
            del part[key]
    return data


def startup_body(course: str = "SYB", **overrides: Any) -> dict[str, Any]:
    cohort = {
        "kind": "startup",
        "occupation_code": None,
        "certificate_kind": None,
        "certificate_level": None,
        "startup_course": course,
        **overrides.pop("cohort", {}),
    }
    return evaluate_body(cohort=cohort, **{"certificate": None, **overrides})


def line_of(response: httpx.Response, kind: str = "training") -> dict[str, Any]:
    assert response.status_code == 200, response.text
    lines = [line for line in response.json()["lines"] if line["kind"] == kind]
    assert len(lines) == 1, response.text
    return lines[0]


def flag_codes(line: dict[str, Any]) -> set[str]:
    return {flag["code"] for flag in line["flags"]}


# --- a live server (for schemathesis and the browser tests) ---------------------------------

LIVE_SERVER_ENV = {
    # the limits have tests of their own: here they would only hide the handlers
    "REGISTRY_VERIFY_MAX_REQUESTS": "1000000",
    "REGISTRY_LOGIN_MAX_ATTEMPTS": "1000000",
    "REGISTRY_LOGIN_ADDRESS_MAX_ATTEMPTS": "1000000",
    "REGISTRY_LOGIN_USER_FREE_ATTEMPTS": "1000000",
    "REGISTRY_READY_REQUIRES_WORKER": "0",
}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def live_server(test_env: dict[str, str]) -> Iterator[str]:
    """uvicorn serving ``cli.asgi:app`` on 127.0.0.1 against the test database; its URL."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    port = free_port()
    env = {**os.environ, **test_env, **LIVE_SERVER_ENV}
    command = [sys.executable, "-m", "uvicorn", "cli.asgi:app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-proxy-headers", "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=root, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the server stopped"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- downloads (Content-Disposition, RFC 6266) ---------------------------------------------

_PARAMETER = re.compile(r';\s*([!#$&+.^_`|~0-9A-Za-z-]+\*?)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')


def download_parameters(header: str) -> list[tuple[str, str]]:
    """A ``Content-Disposition: attachment`` header's parameters, read as RFC 6266 says (a
    quoted string or a token each; nothing else may be in the header)."""
    disposition, _, rest = header.partition(";")
    assert disposition == "attachment", header
    matches = list(_PARAMETER.finditer(";" + rest))
    assert "".join(m.group(0) for m in matches) == ";" + rest, header
    return [(m.group(1).lower(), m.group(2)) for m in matches]


def download_name(header: str) -> str:
    """The name a current browser saves the file under: ``filename*`` (RFC 8187, UTF-8)."""
    params = download_parameters(header)
    assert [key for key, _ in params] == ["filename", "filename*"], header
    charset, _, encoded = dict(params)["filename*"].partition("''")
    assert charset == "UTF-8", header
    return unquote(encoded, encoding="utf-8", errors="strict")
