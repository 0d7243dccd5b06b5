"""Child process of ``registry bench import``: import one XLSX roster through the service
and print, as JSON on the last line, the peak RSS (``ru_maxrss``) and the time.

``python -m cli.bench.memory_probe COHORT_ID FILE`` with ``DATABASE_URL``,
``REGISTRY_DATA_KEY`` and ``REGISTRY_INDEX_KEY`` in the environment.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import sys
import time
import uuid
from pathlib import Path


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


async def _main(cohort_id: uuid.UUID, path: Path) -> dict[str, float]:
    from registry.core import db
    from registry.core.crypto import Vault
    from registry.core.principal import system
    from registry.models.training import Cohort
    from registry.training.roster import service as roster_import  # noqa: F401  (imported before the baseline)
    from registry.training.roster.service import import_roster

    vault = Vault(
        data_key=base64.b64decode(os.environ["REGISTRY_DATA_KEY"]),
        index_key=base64.b64decode(os.environ["REGISTRY_INDEX_KEY"]),
    )
    from cli.bench.roster import scratch_trail

    scratch_trail()
    await db.init_db(os.environ["DATABASE_URL"], pool_max_size=2)
    try:
        await Cohort.get(id=cohort_id)
        import openpyxl  # noqa: F401
        import python_calamine  # noqa: F401

        start = _rss_mb()
        started = time.perf_counter()
        report = await import_roster(system("bench"), vault, cohort_id, path, path.name)
        seconds = time.perf_counter() - started
    finally:
        await db.close_db()
    return {
        "accepted": report.accepted,
        "refused": report.refused,
        "seconds": seconds,
        "start_rss_mb": start,
        "peak_rss_mb": _rss_mb(),
    }


def main() -> int:
    cohort_id, path = uuid.UUID(sys.argv[1]), Path(sys.argv[2])
    print(json.dumps(asyncio.run(_main(cohort_id, path))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
