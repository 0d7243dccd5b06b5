"""``registry relay-outbox``: sends what is still unsent in the outbox, once."""

from __future__ import annotations

import uuid

from tortoise.transactions import in_transaction

from registry.core import outbox
from registry.models.outbox import OutboxJob
from tests.broker import drop_queue, queued
from tests.cli.commands import registry


async def test_relay_outbox_sends_the_unsent_rows(database: None, test_env: dict[str, str]) -> None:
    async with in_transaction() as conn:  # committed, never sent (as after a crash)
        outbox_id = await outbox.write(conn, "registry.test.nothing", {"n": 1})
    queue = f"test-relay-{uuid.uuid4().hex[:10]}"  # no worker consumes it
    env = {**test_env, "REGISTRY_QUEUE": queue}
    try:
        young = registry(env, "relay-outbox", "--min-age", "3600")
        assert young.returncode == 0, young.stderr
        assert (await OutboxJob.get(id=outbox_id)).sent_at is None
        result = registry(env, "relay-outbox", "--min-age", "0")
        assert result.returncode == 0, result.stderr
        assert "sent" in result.stdout
        sent = [kwargs["outbox_id"] for _name, kwargs in queued(test_env["REDIS_URL"], queue)]
        assert sent.count(str(outbox_id)) == 1
        assert (await OutboxJob.get(id=outbox_id)).sent_at is not None
    finally:
        drop_queue(test_env["REDIS_URL"], queue)
