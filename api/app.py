"""The Litestar application factory: HTTP only. Wiring to the workers happens in ``cli``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from redis.asyncio import Redis

from api import health
from api.accounts import auth, institutions, users
from api.audit import events as audit
from api.certificates import certificates, verify
from api.dashboard import pages as dashboard
from api.notices import calendar as notices_calendar
from api.notices import notices
from api.openapi import finish_openapi
from api.people import trainees
from api.problems import EXCEPTION_HANDLERS
from api.progress import progress
from api.reference import catalogue as reference
from api.reports import quarterly as reports
from api.security import LoginLimiter, WindowLimiter, provide_principal
from api.strict import StrictRequest, refuse_nul_characters
from api.subsidy import claims as subsidy_claims
from api.subsidy import evaluate as subsidy_evaluate
from api.subsidy import policies as subsidy_policies
from api.subsidy import simulations as subsidy_simulations
from api.training import cohorts, roster
from api.web import password_gate
from api.web.templates import TEMPLATE_CONFIG
from api.workbench import account as workbench_account
from api.workbench import admin as workbench_admin
from api.workbench import notices as workbench_notices
from api.workbench import pages as workbench
from api.workbench import people as workbench_people
from registry.audit import service as audit_trail
from registry.core import db, offload
from registry.core.crypto import vault_from_settings
from registry.core.recent import Recent
from registry.core.redact import mask_id_numbers_in
from registry.core.settings import Settings, redis_client_url

STATIC_DIRECTORY = Path(__file__).resolve().parent / "static"
"""Served at ``/static``: the dashboard's script and style and the vendored ECharts."""
API_PREFIX = "/api/v1"
ACCESS_LOGGER = "uvicorn.access"


def mask_id_numbers_in_access_log(record: logging.LogRecord) -> bool:
    """A logging filter for the server's access log: a request path that holds something
    shaped like an ID number (``GET /verify/<number>``) is logged with it masked."""
    if isinstance(record.args, tuple):
        record.args = tuple(mask_id_numbers_in(a) if isinstance(a, str) else a for a in record.args)
    if isinstance(record.msg, str):
        record.msg = mask_id_numbers_in(record.msg)
    return True


def _mask_access_log() -> None:
    logger = logging.getLogger(ACCESS_LOGGER)
    if mask_id_numbers_in_access_log not in logger.filters:
        logger.addFilter(mask_id_numbers_in_access_log)


MAX_REQUEST_BODY = 20 * 1024 * 1024  # roster uploads are the largest bodies
FIGURES_KEPT = 256
"""Figures kept per worker (scopes x parameters): a breakdown by institution can be large."""


def create_app(settings: Settings, *, manage_db: bool = True) -> Litestar:
    """Build the app. ``manage_db=False`` when the caller (the tests) has initialised Tortoise."""
    redis = Redis.from_url(redis_client_url(settings.redis_url))
    _mask_access_log()
    audit_trail.configure(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if manage_db:
            await db.init_db(settings.database_url, pool_max_size=settings.pool_max_size)
        try:
            yield
        finally:
            offload.shutdown()
            await redis.aclose()
            if manage_db:
                await db.close_db()

    v1 = Router(
        path=API_PREFIX,
        route_handlers=[
            auth.token,
            health.healthz,
            health.readyz,
            *reference.HANDLERS,
            *subsidy_policies.HANDLERS,
            *subsidy_simulations.HANDLERS,
            *subsidy_evaluate.HANDLERS,
            *subsidy_claims.HANDLERS,
            *notices_calendar.HANDLERS,
            *notices.HANDLERS,
            institutions.InstitutionController,
            users.UserController,
            users.ApiKeyController,
            certificates.CertificateController,
            *verify.API_HANDLERS,
            roster.RosterController,
            *cohorts.HANDLERS,
            *trainees.HANDLERS,
            *progress.HANDLERS,
            *reports.HANDLERS,
            audit.AuditEventController,
        ],
        dependencies={"principal": Provide(provide_principal)},
    )
    state: dict[str, Any] = {
        "settings": settings,
        "vault": vault_from_settings(settings),
        "redis": redis,
        "login_limiter": LoginLimiter(redis, settings),
        # Who is signed in (a token's user active, a session alive), re-checked at most this often.
        "signed_in": Recent[Any](settings.signed_in_recheck_seconds),
        # The progress figures and the dashboard's data per scope (docs/performance.md).
        "figures": Recent[Any](settings.figures_cache_seconds, max_entries=FIGURES_KEPT),
        "verify_limiter": WindowLimiter(
            redis, "verify", settings.verify_max_requests, settings.verify_window_seconds
        ),
    }
    app = Litestar(
        route_handlers=[
            health.healthz,
            health.readyz,
            *verify.PAGE_HANDLERS,
            *notices.PAGE_HANDLERS,
            *dashboard.PAGE_HANDLERS,
            workbench.ROUTER,
            workbench_people.ROUTER,
            workbench_notices.ROUTER,
            workbench_admin.ROUTER,
            workbench_account.ROUTER,
            create_static_files_router(
                path="/static", directories=[STATIC_DIRECTORY], send_as_attachment=False
            ),
            v1,
        ],
        template_config=TEMPLATE_CONFIG,
        lifespan=[lifespan],
        state=State(state),
        exception_handlers={**EXCEPTION_HANDLERS, **password_gate.EXCEPTION_HANDLERS},
        request_class=StrictRequest,
        middleware=[refuse_nul_characters],
        request_max_body_size=MAX_REQUEST_BODY,
        cors_config=CORSConfig(allow_origins=[]),
        openapi_config=OpenAPIConfig(
            title="Luoyang training and skills-certification registry",
            version="1",
            path="/schema",
            description="洛阳市职业技能培训与评价登记系统. Errors are RFC 9457 problem details.",
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                    "apiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
                }
            ),
            security=[{"bearer": []}, {"apiKey": []}],
        ),
        debug=False,
    )
    finish_openapi(app)
    return app
