"""Reference data: the occupational classification, divisions, priority-trade lists."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from registry.enums import DivisionKind


class Occupation(Model):
    """One entry of the national occupational classification (2022 edition), any level."""

    code = fields.CharField(max_length=16, primary_key=True)
    name = fields.CharField(max_length=200)
    level = fields.SmallIntField(description="1 大类, 2 中类, 3 小类, 4 细类 (an occupation)")
    parent_code = fields.CharField(max_length=16, null=True)
    edition = fields.CharField(max_length=8, default="2022")
    is_digital = fields.BooleanField(default=False)
    is_green = fields.BooleanField(default=False)
    definition = fields.TextField(default="")

    class Meta:
        table = "occupation"


class Division(Model):
    """A district or county of Luoyang (6-digit code)."""

    code = fields.CharField(max_length=6, primary_key=True)
    name = fields.CharField(max_length=50)
    kind = fields.CharEnumField(DivisionKind, max_length=16)
    is_administrative = fields.BooleanField(default=True)

    class Meta:
        table = "division"


class DivisionAlias(Model):
    """A name or code people still write for a division (偃师市, 410381, 瀍河, 高新区), mapped to
    today's division; loaded from the catalogue with the divisions."""

    alias = fields.CharField(max_length=50, primary_key=True)
    division: fields.ForeignKeyRelation[Division] = fields.ForeignKeyField(
        "registry.Division", related_name="aliases", on_delete=fields.RESTRICT
    )
    kind = fields.CharField(max_length=16, description="historic (retired in 2021) or short")
    note = fields.TextField(default="")

    class Meta:
        table = "division_alias"


class PriorityList(Model):
    """A version of the city's priority-trade list; the one in force on a date is the one
    with the latest ``effective_from`` on or before it.

    A list the bureau loads (``registry priority-list load``) is published by the bureau:
    confirmed at load. The shipped reference selection (``is_reference_selection``) is not,
    until the bureau confirms it (``registry priority-list confirm CODE --document ...``)."""

    id = fields.UUIDField(primary_key=True)
    code = fields.CharField(
        max_length=64,
        unique=True,
        description="stable code: reference-<effective_from> (shipped), given at load or list-<effective_from>",
    )
    name = fields.CharField(max_length=200)
    effective_from = fields.DateField(unique=True)
    source_note = fields.TextField(default="")
    document = fields.CharField(
        max_length=200, default="", description="the document it was published under (洛人社〔2026〕12号)"
    )
    is_reference_selection = fields.BooleanField(default=False)
    confirmed_at = fields.DatetimeField(null=True, description="when the bureau published or confirmed it")
    confirmed_by = fields.CharField(max_length=100, null=True, description="who loaded or confirmed it")
    created_at = fields.DatetimeField(auto_now_add=True)

    @property
    def confirmed(self) -> bool:
        """Published by the bureau: loaded by it, or the shipped selection it confirmed."""
        return self.confirmed_at is not None

    class Meta:
        table = "priority_list"


class PriorityListEntry(Model):
    id = fields.BigIntField(primary_key=True)
    priority_list: fields.ForeignKeyRelation[PriorityList] = fields.ForeignKeyField(
        "registry.PriorityList", related_name="entries", on_delete=fields.CASCADE
    )
    occupation: fields.ForeignKeyRelation[Occupation] = fields.ForeignKeyField(
        "registry.Occupation", related_name="priority_entries", on_delete=fields.RESTRICT
    )
    sector = fields.CharField(max_length=100, default="")

    class Meta:
        table = "priority_list_entry"
        unique_together = (("priority_list", "occupation"),)
