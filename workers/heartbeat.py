"""The worker's heartbeat (see :mod:`registry.core.heartbeat`): a daemon thread of the worker's
main process, started when the worker is ready to take messages (``worker_ready``) and stopped
on ``worker_shutdown``. A process stopped with SIGSTOP, or dead, beats no more, which is what
``/readyz`` notices. Every Redis call is bounded by a socket timeout, so a hung Redis delays a
beat but never the worker."""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
from celery.signals import worker_ready, worker_shutdown

from registry.core import heartbeat
from registry.core.settings import Settings, redis_client_url

log = logging.getLogger(__name__)

_settings: Settings | None = None
_thread: Heartbeat | None = None


def configure(settings: Settings) -> None:
    """Remember the settings the heartbeat writes with (called by ``create_celery``)."""
    global _settings
    _settings = settings


class Heartbeat(threading.Thread):
    def __init__(self, settings: Settings, hostname: str) -> None:
        super().__init__(name="registry-heartbeat", daemon=True)
        self.settings = settings
        self.hostname = hostname
        self.stopped = threading.Event()
        self.client = redis.Redis.from_url(
            redis_client_url(settings.redis_url), socket_timeout=2, socket_connect_timeout=2
        )
        self.keys = [heartbeat.worker_key(settings.queue, hostname), heartbeat.workers_key(settings.queue)]
        self._beat = self.client.register_script(heartbeat.BEAT)

    def beat(self) -> None:
        ttl = max(int(self.settings.worker_heartbeat_max_age_seconds), 1)
        self._beat(keys=self.keys, args=[self.hostname, ttl, heartbeat.KEEP_SECONDS])

    def run(self) -> None:
        failing = False
        while not self.stopped.is_set():
            try:
                self.beat()
                if failing:
                    log.info("worker heartbeat: written again")
                failing = False
            except redis.RedisError as exc:
                if not failing:
                    log.warning("worker heartbeat: not written (%s); retrying", exc)
                failing = True
            self.stopped.wait(self.settings.worker_heartbeat_interval_seconds)

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive():
            self.join(5)
        try:
            self.client.register_script(heartbeat.GONE)(keys=self.keys, args=[self.hostname])
        except redis.RedisError:
            log.warning("worker heartbeat: could not remove %s", self.keys[0])
        self.client.close()


def start(hostname: str) -> None:
    global _thread
    if _settings is None or _thread is not None:
        return
    _thread = Heartbeat(_settings, hostname)
    _thread.start()
    log.info(
        "worker heartbeat: %s every %.0f s", _thread.keys[0], _settings.worker_heartbeat_interval_seconds
    )


def stop() -> None:
    global _thread
    if _thread is not None:
        _thread.stop()
        _thread = None


def _on_ready(sender: Any = None, **_kwargs: object) -> None:
    hostname = getattr(sender, "hostname", None) or "worker"
    start(str(hostname))


def _on_shutdown(**_kwargs: object) -> None:
    stop()


worker_ready.connect(_on_ready, weak=False, dispatch_uid="registry.heartbeat.ready")
worker_shutdown.connect(_on_shutdown, weak=False, dispatch_uid="registry.heartbeat.shutdown")
