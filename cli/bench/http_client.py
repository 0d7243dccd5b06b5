"""The load-generating process of ``registry bench http``: uploads roster files to the API
over HTTP (multipart, field ``file``) from ``clients`` concurrent connections, each
sending its next file as soon as the previous answer arrived.

``python -m cli.bench.http_client SPEC`` where ``SPEC`` is a pickle written by the parent:
``{"base_url": str, "clients": int, "probes": int, "uploads": [(path, token, bytes, file name), ...]}``.

It first times ``probes`` sequential ``GET /healthz`` (the floor of client + server +
network), then the uploads. It prints, as JSON on its last line, the latencies (ms) of
the probes and of the uploads, the wall seconds and its own CPU seconds: a client that
used far less than one core was not the bottleneck.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any


async def _main(spec: dict[str, Any]) -> dict[str, Any]:
    import httpx

    uploads: list[tuple[str, str, bytes, str]] = spec["uploads"]
    clients = max(1, int(spec["clients"]))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=spec["base_url"], limits=limits, timeout=120) as http:
        probes = []
        for _ in range(int(spec["probes"])):
            started = time.perf_counter()
            answer = await http.get("/healthz")
            probes.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
        queue = iter(uploads)
        latencies: list[float] = []
        failures: list[str] = []

        async def client() -> None:
            for path, token, data, name in queue:
                started = time.perf_counter()
                answer = await http.post(
                    path,
                    headers={"Authorization": f"Bearer {token}"},
                    files={"file": (name, data, "text/csv")},
                )
                latencies.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200 or answer.json().get("status") != "imported":
                    failures.append(f"{answer.status_code} {answer.text[:300]}")

        cpu = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
    return {
        "probes_ms": probes,
        "latencies_ms": latencies,
        "failures": failures[:5],
        "failed": len(failures),
        "seconds": seconds,
        "cpu_seconds": cpu,
    }


def main() -> int:
    spec = pickle.loads(Path(sys.argv[1]).read_bytes())  # noqa: S301 (written by the parent)
    print(json.dumps(asyncio.run(_main(spec))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
