"""Schemathesis against the live API, for every role (issue 7 §2 and §3).

A real server (uvicorn, ``cli.asgi:app``, on 127.0.0.1) on the test database; each role
signs in (admin, city auditor, county auditor, institution, assessor, anonymous) and every
operation of the OpenAPI document gets ``FUZZ_EXAMPLES`` generated requests that fit the
schema and ``FUZZ_NEGATIVE_EXAMPLES`` that do not. Every answer is checked: no 5xx
(``not_a_server_error``), a status the document lists (``status_code_conformance``), a body
and media type that fit it (``response_schema_conformance``, ``content_type_conformance``).

Marked ``fuzz``: ``make test`` leaves it out; ``.ci/run`` runs it as a step of its own::

    .venv/bin/pytest tests/api/test_schemathesis.py -m fuzz -q -s

(docs/api-fuzzing.md has the figures of the last run.)
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.support import Make, live_server
from tests.factories import new_institution

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(3600)]

ROOT = Path(__file__).resolve().parents[2]
POSITIVE = int(os.environ.get("FUZZ_EXAMPLES", "20"))
NEGATIVE = int(os.environ.get("FUZZ_NEGATIVE_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def server(test_env: dict[str, str]) -> Iterator[str]:
    with live_server(test_env) as url:
        yield url


@dataclass
class Tally:
    operations: set[str] = field(default_factory=set)
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    no_negative: set[str] = field(default_factory=set)


def fuzz(url: str, role: str, headers: dict[str, str], tally: Tally) -> None:
    schema = schemathesis.openapi.from_url(f"{url}/schema/openapi.json")
    for result in schema.get_all_operations():
        operation = result.ok()
        tally.operations.add(operation.label)
        for mode, examples in [(GenerationMode.POSITIVE, POSITIVE), (GenerationMode.NEGATIVE, NEGATIVE)]:
            if examples <= 0:
                continue

            @hypothesis.settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                suppress_health_check=list(hypothesis.HealthCheck),
            )
            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                response = case.call(base_url=url, headers=headers, timeout=30)
                tally.requests += 1
                tally.statuses[response.status_code] += 1
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                # No request can break a schema without parameters or body (GET /healthz)
                tally.no_negative.add(operation.label)
            except Exception as exc:  # one failure per operation, mode and role is enough to report
                tally.failures.append(f"{role} {mode.value} {operation.label}: {str(exc)[:1500]}")


async def test_no_server_error_and_every_answer_as_documented(
    server: str, sign_in: Make, test_env: dict[str, str]
) -> None:
    county = "410323"
    roles: dict[str, dict[str, str]] = {
        "admin": (await sign_in("admin")).headers,
        "city auditor": (await sign_in("auditor")).headers,
        "county auditor": (await sign_in("auditor", division=county)).headers,
        "institution": (await sign_in("institution", institution=await new_institution(county))).headers,
        "assessor": (await sign_in("assessor")).headers,
        "anonymous": {},
    }
    tally = Tally()
    started = time.monotonic()
    for role, headers in roles.items():
        await asyncio.to_thread(fuzz, server, role, headers, tally)
    elapsed = time.monotonic() - started
    server_errors = sum(n for status, n in tally.statuses.items() if status >= 500)
    print(
        f"\nschemathesis: {len(tally.operations)} operations x {len(roles)} roles, "
        f"{tally.requests} requests in {elapsed:.0f} s, {server_errors} server errors, "
        f"{len(tally.failures)} failed checks; {len(tally.no_negative)} operations take no input to break; "
        f"statuses {dict(sorted(tally.statuses.items()))}"
    )
    assert not tally.failures, "\n\n".join(tally.failures)
    assert server_errors == 0
    assert len(tally.operations) >= 40
