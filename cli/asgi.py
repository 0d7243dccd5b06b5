"""The production ASGI entry: ``uvicorn cli.asgi:app``.

The composition root: settings read once, the Celery job sender plugged into the
registry's port, and the HTTP app built around them.
"""

from __future__ import annotations

import gc

from api.app import create_app
from cli.runtime import configure_logging, plug_job_sender
from registry.core.settings import load_settings

configure_logging()
settings = load_settings()
plug_job_sender(settings)
app = create_app(settings)
# What is built at start-up (modules, the app, its routes and schemas) lives as long as the
# process: moved out of the collector's sight, so that a full collection under load scans
# only what requests allocate. Without it one took ~110 ms here, every ~1,000 cohort pages,
# and stalled every request in flight on the worker (the p99).
gc.freeze()
