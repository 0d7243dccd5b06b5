"""Sign-in limits that hold under concurrency and cannot be turned against a user.

Each test talks to the app through its own ASGI client address (``addressed``), so the
per-address counters of one test never touch another's."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import httpx
from litestar import Litestar

from registry.core.settings import Settings
from tests.api.support import PASSWORD, Make, addressed

TOKEN = "/api/v1/auth/token"


def new_address() -> str:
    return f"198.51.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


async def attempt(
    app: Litestar, address: str, username: str, password: str, **headers: str
) -> httpx.Response:
    async with addressed(app, address) as client:
        return await client.post(TOKEN, json={"username": username, "password": password}, headers=headers)


async def test_thirty_parallel_wrong_passwords_check_at_most_the_limit(
    app: Litestar, password_sign_in: Make, settings: Settings
) -> None:
    actor = await password_sign_in("auditor")
    address = new_address()
    async with addressed(app, address) as client:
        answers = await asyncio.gather(
            *(
                client.post(TOKEN, json={"username": actor.username, "password": f"wrong-{i}"})
                for i in range(30)
            )
        )
    statuses = Counter(r.status_code for r in answers)
    # A 401 is a password that was checked (argon2); every other attempt was refused before.
    assert statuses[401] <= settings.login_max_attempts, statuses
    assert statuses[429] == 30 - statuses[401], statuses
    assert all(int(r.headers["retry-after"]) > 0 for r in answers if r.status_code == 429)


async def test_parallel_wrong_passwords_from_many_addresses_are_bounded_per_username(
    app: Litestar, password_sign_in: Make, settings: Settings
) -> None:
    actor = await password_sign_in("auditor")
    answers = await asyncio.gather(
        *(attempt(app, new_address(), actor.username, f"wrong-{i}") for i in range(30))
    )
    statuses = Counter(r.status_code for r in answers)
    # Past the free attempts each further one waits a delay: one more at most gets through now.
    assert statuses[401] <= settings.login_user_free_attempts + 1, statuses
    assert statuses[429] == 30 - statuses[401], statuses


async def test_rotating_x_forwarded_for_does_not_escape_the_address_limit(
    app: Litestar, settings: Settings
) -> None:
    address = new_address()
    answers = []
    for i in range(30):
        # A different (unknown) username each time, so only the per-address limit applies.
        forged = f"203.0.113.{i + 1}"
        answers.append(
            await attempt(
                app, address, f"nobody-{uuid.uuid4().hex[:8]}", "wrong", **{"X-Forwarded-For": forged}
            )
        )
    statuses = Counter(r.status_code for r in answers)
    assert statuses[401] == settings.login_address_max_attempts, statuses
    assert statuses[429] == 30 - settings.login_address_max_attempts, statuses


async def test_a_forged_forwarded_address_cannot_lock_out_another_client(
    app: Litestar, password_sign_in: Make, settings: Settings
) -> None:
    actor = await password_sign_in("auditor")
    victim_address = new_address()
    for _ in range(20):
        await attempt(app, new_address(), actor.username, "wrong", **{"X-Forwarded-For": victim_address})
    # The real user is at victim_address (a direct peer, no proxy is trusted): not locked.
    answer = await sign_in_within_the_delay(app, victim_address, actor.username, settings)
    assert answer.status_code == 200, answer.text


async def sign_in_within_the_delay(
    app: Litestar, address: str, username: str, settings: Settings
) -> httpx.Response:
    """The right password from ``address``, retried after each Retry-After until the
    per-username delay (at most ``login_user_max_delay_seconds``) has run out."""
    deadline = time.monotonic() + settings.login_user_max_delay_seconds + 5
    while True:
        answer = await attempt(app, address, username, PASSWORD)
        if answer.status_code != 429 or time.monotonic() > deadline:
            return answer
        wait = int(answer.headers["retry-after"])
        assert 0 < wait <= settings.login_user_max_delay_seconds, answer.headers
        await asyncio.sleep(min(wait, max(deadline - time.monotonic(), 0)))


async def test_failures_from_other_addresses_delay_but_never_lock_the_user_out(
    app: Litestar, password_sign_in: Make, settings: Settings
) -> None:
    actor = await password_sign_in("auditor")
    attacker = new_address()
    answers = [await attempt(app, attacker, actor.username, "wrong") for _ in range(5)]
    answers += [await attempt(app, new_address(), actor.username, "wrong") for _ in range(15)]
    assert Counter(r.status_code for r in answers)[401] <= settings.login_user_free_attempts + 1
    # The attacker's address is locked for this username ...
    assert (await attempt(app, attacker, actor.username, PASSWORD)).status_code == 429
    # ... the real user at another address gets in, after at most the delay.
    started = time.monotonic()
    answer = await sign_in_within_the_delay(app, new_address(), actor.username, settings)
    assert answer.status_code == 200, answer.text
    assert time.monotonic() - started <= settings.login_user_max_delay_seconds + 2


async def test_a_success_resets_the_username_and_pair_counters(
    app: Litestar, password_sign_in: Make, settings: Settings
) -> None:
    actor = await password_sign_in("auditor")
    address = new_address()
    for _ in range(2):
        for _ in range(settings.login_max_attempts - 1):
            assert (await attempt(app, address, actor.username, "wrong")).status_code == 401
        assert (await attempt(app, address, actor.username, PASSWORD)).status_code == 200


async def test_forwarded_for_is_read_from_trusted_proxies_only(settings: Settings, database: None) -> None:
    import dataclasses
    import ipaddress

    from api.app import create_app

    proxied = create_app(
        dataclasses.replace(settings, trusted_proxies=(ipaddress.ip_network("10.9.0.0/16"),)), manage_db=False
    )
    try:
        client_ip = new_address()
        answers = [
            # The client forges the left part; the proxy appends the address it saw.
            await attempt(
                proxied,
                "10.9.0.7",
                f"nobody-{uuid.uuid4().hex[:8]}",
                "wrong",
                **{"X-Forwarded-For": f"203.0.113.{i + 1}, {client_ip}, 10.9.3.3"},
            )
            for i in range(settings.login_address_max_attempts + 1)
        ]
        assert [r.status_code for r in answers][-2:] == [401, 429]
        # Another client behind the same proxy is not affected.
        other = await attempt(
            proxied, "10.9.0.7", "nobody-else", "wrong", **{"X-Forwarded-For": new_address()}
        )
        assert other.status_code == 401
    finally:
        await proxied.state.redis.aclose()
