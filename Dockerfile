# syntax=docker/dockerfile:1
# One image for every process of the registry: api, worker, beat, flower, migrate.
# docker-compose.yml picks the process with `command:`; the default runs the API.

# uv.lock is `revision = 5`: the uv that builds must understand it; UV_VERSION is the one
# the Makefile installs (keep the two in step).
ARG UV_VERSION=0.13.9
FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

FROM python:3.11-slim AS build
COPY --from=uv /uv /uvx /bin/
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first (cached while only the source changes), exactly as locked.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project
COPY registry ./registry
COPY api ./api
COPY workers ./workers
COPY cli ./cli
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

FROM python:3.11-slim
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    REGISTRY_HOME=/data \
    TZ=Asia/Shanghai
RUN groupadd --system --gid 10001 registry \
    && useradd --system --uid 10001 --gid registry --home-dir /app --shell /usr/sbin/nologin registry \
    && mkdir -p /data \
    && chown registry:registry /data
WORKDIR /app
COPY --from=build --chown=registry:registry /app /app
USER registry
EXPOSE 8000
# The console script `registry` (cli.main:main), uvicorn and celery live in /app/.venv/bin.
# --no-proxy-headers: the app reads X-Forwarded-For from REGISTRY_TRUSTED_PROXIES only.
# A worker process per core unless REGISTRY_API_WORKERS says otherwise.
CMD ["sh", "-c", "exec uvicorn cli.asgi:app --host 0.0.0.0 --port 8000 --no-proxy-headers --workers ${REGISTRY_API_WORKERS:-$(nproc)}"]
