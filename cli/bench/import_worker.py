"""Child process of ``registry bench import``: one of several processes importing a share
of the roster files at the same time, as the API's worker processes would (its own event
loop, its own Tortoise connection pool, the real
:func:`registry.training.roster.service.import_roster`).

``python -m cli.bench.import_worker SPEC`` with ``DATABASE_URL``, ``REGISTRY_DATA_KEY`` and
``REGISTRY_INDEX_KEY`` in the environment. ``SPEC`` is a pickle written by the parent:
``{"concurrency": int, "files": [(cohort_id, institution_id, bytes, file name), ...]}``.

The protocol keeps the clock fair: the child connects, prints ``ready``, waits for a line
on stdin, imports its files (``concurrency`` at a time) and prints, as JSON on its last
line, the rows accepted, the files, its own seconds and its CPU seconds.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pickle
import sys
import time
import uuid
from pathlib import Path
from typing import Any


async def _main(spec: dict[str, Any]) -> dict[str, Any]:
    from registry.core import db
    from registry.core.crypto import Vault
    from registry.core.principal import Principal
    from registry.enums import Role
    from registry.training.roster.service import import_roster

    vault = Vault(
        data_key=base64.b64decode(os.environ["REGISTRY_DATA_KEY"]),
        index_key=base64.b64decode(os.environ["REGISTRY_INDEX_KEY"]),
    )
    concurrency = max(1, int(spec["concurrency"]))
    files: list[tuple[uuid.UUID, uuid.UUID, bytes, str]] = spec["files"]
    from cli.bench.roster import scratch_trail

    scratch_trail()  # the scratch database's audit chain (a throwaway key; never verified)
    await db.init_db(os.environ["DATABASE_URL"], pool_max_size=concurrency + 1)
    try:
        from tortoise import connections

        await connections.get("default").execute_query("SELECT 1")  # the pool is open
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        queue = iter(files)
        accepted = 0

        async def worker() -> None:
            nonlocal accepted
            for cohort_id, institution_id, data, name in queue:
                principal = Principal(
                    kind="user", id=uuid.uuid4(), role=Role.INSTITUTION, institution_id=institution_id
                )
                report = await import_roster(principal, vault, cohort_id, data, name)
                if report.status != "imported":
                    raise RuntimeError(f"bench roster {name} was not imported: {report.errors[:3]}")
                accepted += report.accepted

        cpu = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
    finally:
        await db.close_db()
    return {"accepted": accepted, "files": len(files), "seconds": seconds, "cpu_seconds": cpu}


def main() -> int:
    spec = pickle.loads(Path(sys.argv[1]).read_bytes())  # noqa: S301 (written by the parent)
    print(json.dumps(asyncio.run(_main(spec))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
