"""What tests share about the real broker: the jobs waiting in a Redis queue, and the
registry's job port plugged for the length of a test."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import redis

from registry.core import jobs
from registry.core.settings import Settings, redis_client_url
from workers.celery_app import create_celery
from workers.sender import CelerySender


def sender_for(settings: Settings, queue: str, redis_url: str | None = None) -> CelerySender:
    """A Celery sender to ``queue`` on ``redis_url`` (default: the session's Redis)."""
    return CelerySender(
        create_celery(dataclasses.replace(settings, queue=queue, redis_url=redis_url or settings.redis_url))
    )


@contextlib.contextmanager
def plugged(sender: jobs.JobSender) -> Iterator[jobs.JobSender]:
    """Plug ``sender`` into the registry's job port in this process, and put back the one before."""
    before = jobs.get_job_sender()
    jobs.set_job_sender(sender)
    try:
        yield sender
    finally:
        jobs.set_job_sender(before)


def queued(redis_url: str, queue: str) -> list[tuple[str, dict[str, Any]]]:
    """(task name, kwargs) of every message waiting in ``queue``, oldest first."""
    client = redis.Redis.from_url(redis_client_url(redis_url))
    try:
        raw = client.lrange(queue, 0, -1)
    finally:
        client.close()
    found = []
    for item in reversed(raw):  # kombu LPUSHes and BRPOPs: the oldest is last
        message = json.loads(item)
        _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        found.append((message["headers"]["task"], kwargs))
    return found


def drop_queue(redis_url: str, queue: str) -> None:
    client = redis.Redis.from_url(redis_client_url(redis_url))
    try:
        client.delete(queue)
    finally:
        client.close()
