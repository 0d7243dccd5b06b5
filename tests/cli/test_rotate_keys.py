"""``registry rotate-keys --check`` as an operator runs it: a subprocess against the suite's
database, counting and changing nothing. (The rotation itself is tested in
tests/registry/services/test_keys.py, scoped to its own rows: this database is shared.)"""

from __future__ import annotations

import base64
import datetime as dt
import os
import random
import re
import subprocess

from tortoise.transactions import in_transaction

from registry.core.crypto import vault_from_settings
from registry.core.settings import Settings
from registry.models.audit import AuditEvent
from registry.models.training import ImportBatch, Trainee
from registry.people.queries import Person, upsert_people
from registry.people.rules.idnumber import make_number, validate
from tests.cli.commands import REGISTRY

STALE = re.compile(r"([\d,]+) trainees and ([\d,]+) import batches are still under an old data key")


def check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REGISTRY, "rotate-keys", "--check"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def counts(stdout: str) -> tuple[int, int]:
    found = STALE.search(stdout)
    assert found is not None, stdout
    return int(found[1].replace(",", "")), int(found[2].replace(",", ""))


async def test_rotate_keys_check_counts_and_changes_nothing(
    test_env: dict[str, str], settings: Settings, database: None
) -> None:
    vault = vault_from_settings(settings)
    number = make_number("410303", dt.date(1970, 1, 1) + dt.timedelta(days=random.randrange(15000)), 7)
    async with in_transaction() as conn:
        ids = await upsert_people(
            conn, vault, [Person(id=validate(number), name="查一", phone="13900000009")]
        )
    (trainee_id,) = ids.values()
    cipher = bytes((await Trainee.get(id=trainee_id)).id_cipher)
    events = await AuditEvent.filter(action="keys.rotate").count()

    # Step 1 of a rotation: a new data key, the suite's key moved to the previous ones.
    rotating = {
        **test_env,
        "REGISTRY_DATA_KEY": base64.b64encode(os.urandom(32)).decode(),
        "REGISTRY_DATA_KEY_PREVIOUS": test_env["REGISTRY_DATA_KEY"],
    }
    result = check(rotating)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "nothing changed" in result.stdout and number not in result.stdout + result.stderr
    sealed = await ImportBatch.filter(refused_cells__not_isnull=True).count()
    assert counts(result.stdout) == (await Trainee.all().count(), sealed)
    assert bytes((await Trainee.get(id=trainee_id)).id_cipher) == cipher
    assert await AuditEvent.filter(action="keys.rotate").count() == events

    # With the suite's own keys: exactly the rows another key wrote (other tests') are counted.
    result = check(test_env)
    rows = await Trainee.all().values_list("id_cipher", "phone_cipher")
    stale = sum(
        vault.needs_reencryption(a) or (b is not None and vault.needs_reencryption(b)) for a, b in rows
    )
    blobs = await ImportBatch.filter(refused_cells__not_isnull=True).values_list("refused_cells", flat=True)
    stale_sealed = sum(vault.needs_reencryption(b) for b in blobs)  # type: ignore[arg-type]
    if stale or stale_sealed:
        assert result.returncode == 1 and counts(result.stdout) == (stale, stale_sealed), result.stdout
    else:
        assert result.returncode == 0 and result.stdout.startswith("nothing to do"), result.stdout
