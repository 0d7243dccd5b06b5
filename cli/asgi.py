"""The production ASGI entry: ``uvicorn cli.asgi:app``.

The composition root: settings read once, the Celery job sender plugged into the
registry's port, and the HTTP app built around them.
"""

from __future__ import annotations

from api.app import create_app
from cli.runtime import configure_logging, plug_job_sender
from registry.core.settings import load_settings

configure_logging()
settings = load_settings()
plug_job_sender(settings)
app = create_app(settings)
