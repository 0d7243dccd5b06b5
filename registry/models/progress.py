"""Targets of the plan and the nightly rollup's snapshots (DESIGN.md sections 4 and 7).

``target`` holds the plan's numbers as data: per year and metric, city-wide (``division``
NULL) or for one division, annual or cumulative (``cumulative_from``: a goal counted over
the years ``cumulative_from`` .. ``year``, e.g. 200,000 high-skill talents 2025-2030).
One row per (year, metric, division, cumulative_from): a unique index on the four, NULLs
equal (migration 0017).

``progress_snapshot`` is the read model the progress API and the dashboard read: what the
rollup of one as-of day counted for the year to date, per metric, scope (the city or one
division), dimension and key. A rollup rewrites its day's rows; other days stay (trends).
docs/progress.md.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from registry.models.reference import Division


# Columns of ``target`` (a comment: Tortoise makes a class docstring the table's comment):
#
# - ``year``: the year the target is for (for a cumulative one, its last year).
# - ``metric``: a metric of registry.progress.metrics (trainees_trained, ...).
# - ``division_id``: NULL for the city; a division's code for the bureau's split by county.
# - ``cumulative_from``: NULL for an annual target; the first year of a cumulative one.
# - ``value``: people, person-times, sessions or fen, as the metric counts.
# - ``source``: the line of 洛政办〔2025〕45号 it quotes, "assumed", or the file it came from.
# - ``origin``: ``catalogue`` (registry/catalogue/targets.yaml) or ``file`` (registry load-targets).
class Target(Model):
    id = fields.BigIntField(primary_key=True)
    year = fields.SmallIntField()
    metric = fields.CharField(max_length=40)
    division: fields.ForeignKeyNullableRelation[Division] = fields.ForeignKeyField(
        "registry.Division", related_name="targets", null=True, on_delete=fields.RESTRICT
    )
    cumulative_from = fields.SmallIntField(null=True, description="first year of a cumulative target")
    value = fields.BigIntField()
    source = fields.TextField(default="")
    origin = fields.CharField(max_length=16, description="catalogue or file")
    loaded_by = fields.CharField(max_length=100)
    loaded_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "target"
        table_description = "The plan's targets per year, metric and scope (NULL division = the city)"
        indexes = (("year", "metric"),)


# Columns of ``progress_snapshot``:
#
# - ``as_of``: the business day (Asia/Shanghai) the rollup counted up to, inclusive.
# - ``year``: the year counted (January 1 .. as_of).
# - ``metric``: see registry.progress.metrics.
# - ``scope``: ``''`` for the city, else a division's code (the rows a county auditor reads).
# - ``dimension``: total, division, occupation, sector, group, month or institution.
# - ``key``: the dimension's value ('' for total; a division code, an occupation code or a
#   startup course, a sector's name or ``other``, a priority group, ``01``..``12``, an
#   institution's id).
# - ``value``: people, person-times, sessions or fen.
class ProgressSnapshot(Model):
    id = fields.BigIntField(primary_key=True)
    as_of = fields.DateField()
    year = fields.SmallIntField()
    metric = fields.CharField(max_length=40)
    scope = fields.CharField(max_length=6, default="", description="'' = the city, else a division code")
    dimension = fields.CharField(max_length=16)
    key = fields.CharField(max_length=100, default="")
    value = fields.BigIntField()
    computed_at = fields.DatetimeField()

    class Meta:
        table = "progress_snapshot"
        table_description = "The nightly rollup: year-to-date values per as-of day, metric, scope, dimension"
        unique_together = (("as_of", "year", "metric", "scope", "dimension", "key"),)
        # The reads: the latest day of a year; a metric's breakdown or trend in a scope.
        indexes = (("year", "as_of"), ("year", "metric", "scope", "dimension", "as_of"))
