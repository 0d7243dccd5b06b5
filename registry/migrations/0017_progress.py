"""Targets and the nightly rollup's snapshots (DESIGN.md sections 4 and 7; docs/progress.md).

- ``target``: the plan's targets per year, metric and scope (a NULL division is the city),
  annual or cumulative (``cumulative_from``); one row per (year, metric, division,
  cumulative_from), NULLs equal (a unique index on the four; a CHECK keeps values >= 0).
- ``progress_snapshot``: the rollup's year-to-date values per as-of day, metric, scope
  (``''`` = the city), dimension and key; unique per those, indexed for the reads.

Written as Tortoise's ``makemigrations`` writes the tables, plus the index and the CHECKs as
SQL. Self-contained: it depends on nothing but the chain before it.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

FORWARD = [
    """
    CREATE UNIQUE INDEX target_once ON target (year, metric, COALESCE(division_id, ''), COALESCE(cumulative_from, 0));
    """,
    """
    ALTER TABLE target
        ADD CONSTRAINT target_value_check CHECK (value >= 0),
        ADD CONSTRAINT target_cumulative_check CHECK (cumulative_from IS NULL OR cumulative_from < year),
        ADD CONSTRAINT target_origin_check CHECK (origin IN ('catalogue', 'file')),
        ALTER COLUMN loaded_at SET DEFAULT now();
    """,
]

REVERSE = [
    """
    ALTER TABLE target
        DROP CONSTRAINT target_value_check,
        DROP CONSTRAINT target_cumulative_check,
        DROP CONSTRAINT target_origin_check,
        ALTER COLUMN loaded_at DROP DEFAULT;
    """,
    "DROP INDEX target_once;",
]


class Migration(migrations.Migration):
    dependencies = [("registry", "0016_plain_json_claim_documents")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ProgressSnapshot",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("as_of", fields.DateField()),
                ("year", fields.SmallIntField()),
                ("metric", fields.CharField(max_length=40)),
                (
                    "scope",
                    fields.CharField(
                        default="", description="'' = the city, else a division code", max_length=6
                    ),
                ),
                ("dimension", fields.CharField(max_length=16)),
                ("key", fields.CharField(default="", max_length=100)),
                ("value", fields.BigIntField()),
                ("computed_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "progress_snapshot",
                "app": "registry",
                "unique_together": (("as_of", "year", "metric", "scope", "dimension", "key"),),
                "indexes": [
                    Index(fields=["year", "as_of"]),
                    Index(fields=["year", "metric", "scope", "dimension", "as_of"]),
                ],
                "pk_attr": "id",
                "table_description": "The nightly rollup: year-to-date values per as-of day, metric, scope, dimension",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Target",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("year", fields.SmallIntField()),
                ("metric", fields.CharField(max_length=40)),
                (
                    "division",
                    fields.ForeignKeyField(
                        "registry.Division",
                        source_field="division_id",
                        null=True,
                        db_constraint=True,
                        to_field="code",
                        related_name="targets",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "cumulative_from",
                    fields.SmallIntField(null=True, description="first year of a cumulative target"),
                ),
                ("value", fields.BigIntField()),
                ("source", fields.TextField(default="", unique=False)),
                ("origin", fields.CharField(description="catalogue or file", max_length=16)),
                ("loaded_by", fields.CharField(max_length=100)),
                ("loaded_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "target",
                "app": "registry",
                "indexes": [Index(fields=["year", "metric"])],
                "pk_attr": "id",
                "table_description": "The plan's targets per year, metric and scope (NULL division = the city)",
            },
            bases=["Model"],
        ),
        ops.RunSQL(FORWARD, reverse_sql=REVERSE),
    ]
