"""The hello-world baseline of ``registry bench api``: a minimal Litestar app, served by the
same uvicorn command with the same number of workers as the API (``uvicorn
cli.bench.hello:app --workers N``), so that its throughput is the ceiling of the server,
the framework and the load generator on this machine, measured in the same run.

``GET /`` answers ``{"hello": "world"}`` (JSON, like the API's reads).
"""

from __future__ import annotations

from litestar import Litestar, get


@get("/", sync_to_thread=False)
def hello() -> dict[str, str]:
    return {"hello": "world"}


app = Litestar(route_handlers=[hello], openapi_config=None, debug=False)
