"""The working-day calendar the public notices run on (DESIGN.md sections 4 and 6).

- ``working_day_calendar``: one row per statutory holiday or make-up working day; a make-up
  working day is a weekend day (CHECK), a kind is one of the two (CHECK).
- ``working_day_calendar_year``: the years the calendar covers (a covered year may have no
  row in ``working_day_calendar``), where each came from (``package``: the chinese-calendar
  seed; ``bureau``: the State Council's notice, loaded with ``registry calendar load``).

Written as Tortoise's ``makemigrations`` writes the tables, plus the CHECKs and column
defaults as SQL. Self-contained: it depends on nothing but the chain before it.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from registry.enums import CalendarDayKind, CalendarOrigin
from tortoise import fields

FORWARD = [
    """
    ALTER TABLE working_day_calendar
        ADD CONSTRAINT working_day_calendar_kind_check CHECK (kind IN ('holiday', 'makeup_workday')),
        ADD CONSTRAINT working_day_calendar_makeup_weekend_check CHECK (
            kind <> 'makeup_workday' OR extract(isodow FROM date) IN (6, 7)
        ),
        ALTER COLUMN loaded_at SET DEFAULT now();
    """,
    """
    ALTER TABLE working_day_calendar_year
        ADD CONSTRAINT working_day_calendar_year_origin_check CHECK (origin IN ('package', 'bureau')),
        ADD CONSTRAINT working_day_calendar_year_year_check CHECK (year BETWEEN 1949 AND 9998),
        ALTER COLUMN loaded_at SET DEFAULT now();
    """,
]

REVERSE = [
    """
    ALTER TABLE working_day_calendar_year
        DROP CONSTRAINT working_day_calendar_year_origin_check,
        DROP CONSTRAINT working_day_calendar_year_year_check,
        ALTER COLUMN loaded_at DROP DEFAULT;
    """,
    """
    ALTER TABLE working_day_calendar
        DROP CONSTRAINT working_day_calendar_kind_check,
        DROP CONSTRAINT working_day_calendar_makeup_weekend_check,
        ALTER COLUMN loaded_at DROP DEFAULT;
    """,
]


class Migration(migrations.Migration):
    dependencies = [("registry", "0012_claims")]

    initial = False

    operations = [
        ops.CreateModel(
            name="CalendarDay",
            fields=[
                ("date", fields.DateField(primary_key=True, unique=True, db_index=True)),
                (
                    "kind",
                    fields.CharEnumField(
                        description="HOLIDAY: holiday\nMAKEUP_WORKDAY: makeup_workday",
                        enum_type=CalendarDayKind,
                        max_length=16,
                    ),
                ),
                ("name", fields.CharField(default="", description="e.g. 春节, National Day", max_length=100)),
                (
                    "source",
                    fields.TextField(
                        description="the notice (or the package) the day comes from", unique=False
                    ),
                ),
                ("loaded_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "working_day_calendar",
                "app": "registry",
                "pk_attr": "date",
                "table_description": "One holiday or make-up working day.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="CalendarYear",
            fields=[
                ("year", fields.SmallIntField(primary_key=True, generated=False, unique=True, db_index=True)),
                (
                    "origin",
                    fields.CharEnumField(
                        description="PACKAGE: package\nBUREAU: bureau",
                        enum_type=CalendarOrigin,
                        max_length=16,
                    ),
                ),
                (
                    "source",
                    fields.TextField(
                        description="the State Council's notice, or the package and its version", unique=False
                    ),
                ),
                (
                    "file_name",
                    fields.CharField(default="", description="the file the bureau loaded", max_length=255),
                ),
                (
                    "sha256",
                    fields.CharField(
                        description="SHA-256 of the year's days (canonical form)", max_length=64
                    ),
                ),
                ("holidays", fields.SmallIntField(default=0)),
                ("makeup_workdays", fields.SmallIntField(default=0)),
                ("loaded_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "working_day_calendar_year",
                "app": "registry",
                "pk_attr": "year",
                "table_description": "A year the calendar covers: a notice that needs a day of any other year is refused.",
            },
            bases=["Model"],
        ),
        ops.RunSQL(FORWARD, reverse_sql=REVERSE),
    ]
