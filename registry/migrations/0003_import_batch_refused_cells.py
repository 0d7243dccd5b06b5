"""Import batches: the refused rows' sealed cells get their own column, and the number of
rows skipped as already enrolled is stored instead of counted.

Batches written before this migration kept the sealed cells as a fake ``errors`` entry
(``{"field": "_refused_rows", "cipher": <base64>}``): they are moved to ``refused_cells``
and the entry is dropped; ``already_enrolled`` is counted once from the stored entries.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

FORWARD = [
    """
    UPDATE import_batch AS b SET
        refused_cells = (
            SELECT decode(e->>'cipher', 'base64') FROM jsonb_array_elements(b.errors) AS e
            WHERE e->>'field' = '_refused_rows' LIMIT 1
        ),
        already_enrolled = (
            SELECT count(*) FROM jsonb_array_elements(b.errors) AS e
            WHERE e->>'code' = 'already_enrolled'
        ),
        errors = COALESCE(
            (
                SELECT jsonb_agg(x.e ORDER BY x.n) FROM jsonb_array_elements(b.errors) WITH ORDINALITY AS x(e, n)
                WHERE x.e->>'field' IS DISTINCT FROM '_refused_rows'
            ),
            '[]'::jsonb
        )
    WHERE jsonb_typeof(b.errors) = 'array'
      AND (b.errors @> '[{"field": "_refused_rows"}]' OR b.errors @> '[{"code": "already_enrolled"}]');
    """,
]

REVERSE = [
    """
    UPDATE import_batch SET errors = errors || jsonb_build_array(jsonb_build_object(
        'field', '_refused_rows',
        'code', 'refused_rows_cells',
        'message', 'the refused rows'' original cells, encrypted (AES-256-GCM), for the refused-rows download',
        'cipher', translate(encode(refused_cells, 'base64'), E'\\n', '')
    ))
    WHERE refused_cells IS NOT NULL;
    """,
]


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_audit_append_only")]

    initial = False

    operations = [
        ops.AddField(
            model_name="ImportBatch",
            name="already_enrolled",
            field=fields.IntField(
                default=0, description="rows skipped: the person was already enrolled", db_default=0
            ),
        ),
        ops.AddField(
            model_name="ImportBatch",
            name="refused_cells",
            field=fields.BinaryField(
                null=True,
                description="the refused rows' original cells, encrypted (valid_rows imports only)",
            ),
        ),
        ops.RunSQL(FORWARD, reverse_sql=REVERSE),
    ]
