"""Worker heartbeats in Redis: the names and scripts the workers write with and ``/readyz`` reads.

Each running worker (its main process, the one that takes messages from the broker) writes,
every ``worker_heartbeat_interval_seconds``:

* ``registry:worker:<queue>:<hostname>``: the Redis time of the beat, with a TTL of
  ``worker_heartbeat_max_age_seconds`` (for operators: ``redis-cli --scan --pattern 'registry:worker:*'``);
* its hostname in the sorted set ``registry:workers:<queue>``, scored by that time, which is
  what ``/readyz`` reads (one ZRANGEBYSCORE, no key scan).

Times are Redis's own (``TIME``), so the clocks of the machines do not matter. A worker stopped
(SIGSTOP), hung or dead stops beating; ``/readyz`` answers 503 once no beat of the queue is
fresher than ``worker_heartbeat_max_age_seconds``.
"""

from __future__ import annotations

KEEP_SECONDS = 24 * 3600
"""Members older than this are dropped from the sorted set when a worker beats."""


def worker_key(queue: str, hostname: str) -> str:
    return f"registry:worker:{queue}:{hostname}"


def workers_key(queue: str) -> str:
    return f"registry:workers:{queue}"


BEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1])
redis.call('SET', KEYS[1], now, 'EX', ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]))
return now
"""
"""KEYS: worker key, workers set; ARGV: hostname, TTL seconds, KEEP_SECONDS."""

FRESH = """
local t = redis.call('TIME')
return redis.call('ZRANGEBYSCORE', KEYS[1], tonumber(t[1]) - tonumber(ARGV[1]), '+inf')
"""
"""KEYS: workers set; ARGV: max age seconds. The hostnames that beat within the max age."""

GONE = """
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 0
"""
"""KEYS: worker key, workers set; ARGV: hostname. A worker that stops cleanly leaves."""
