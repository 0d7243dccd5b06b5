"""What an institution says about a person belongs to its enrolment; division aliases.

- ``division_alias``: names and codes people still write for a division (偃师市, 410381, 瀍河,
  高新区), mapped to today's division. Its rows come from the catalogue
  (``registry/catalogue/luoyang_division_aliases.csv``) and are loaded by
  ``registry load-reference``, run after the migrations.
- ``enrolment`` gets the facts the institution gave at enrolment: the name as given, the phone
  (encrypted, blind-indexed, masked: the index is on the enrolment for the shared-phone check),
  the household division (today's code, and as written) and the auditors' review flags.
  Priority groups were already on the enrolment.

Data already stored: each existing enrolment gets its trainee's name, phone (the ciphertext,
index and mask are copied as they are: the same key and context wrote them) and household
division, the best there is (what the last writer left on the person); ``household_as_written``
stays NULL and ``review_flags`` empty for them (their groups were already the enrolment's). Backward, the columns are dropped; nothing is copied back.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise.fields.db_defaults import SqlDefault
from tortoise import fields
from tortoise.indexes import Index

FORWARD = [
    """
    UPDATE enrolment AS e SET
        name_as_given = t.name,
        phone_index = t.phone_index,
        phone_cipher = t.phone_cipher,
        phone_masked = t.phone_masked,
        household_division_id = t.household_division_id
    FROM trainee AS t
    WHERE t.id = e.trainee_id;
    """,
]

REVERSE: list[str] = []


class Migration(migrations.Migration):
    dependencies = [("registry", "0008_application_role")]

    initial = False

    operations = [
        ops.CreateModel(
            name="DivisionAlias",
            fields=[
                ("alias", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=50)),
                (
                    "division",
                    fields.ForeignKeyField(
                        "registry.Division",
                        source_field="division_id",
                        db_constraint=True,
                        to_field="code",
                        related_name="aliases",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("kind", fields.CharField(description="historic (retired in 2021) or short", max_length=16)),
                ("note", fields.TextField(default="", unique=False)),
            ],
            options={
                "table": "division_alias",
                "app": "registry",
                "pk_attr": "alias",
                "table_description": "A name or code people still write for a division (偃师市, 410381, 瀍河, 高新区), mapped to",
            },
            bases=["Model"],
        ),
        ops.AlterModelOptions(
            name="Enrolment",
            options={
                "table": "enrolment",
                "app": "registry",
                "unique_together": (("cohort", "trainee"),),
                "indexes": [Index(fields=["trainee_id"]), Index(fields=["phone_index"])],
                "pk_attr": "id",
                "table_description": "A person in a cohort, with what the cohort's institution said about the person (name",
            },
        ),
        ops.AddField(
            model_name="Enrolment",
            name="household_as_written",
            field=fields.CharField(
                null=True, description="the household division as written (偃师市, 410381)", max_length=50
            ),
        ),
        ops.AddField(
            model_name="Enrolment",
            name="household_division",
            field=fields.ForeignKeyField(
                "registry.Division",
                source_field="household_division_id",
                null=True,
                description="the household division as given at enrolment, today's code",
                db_constraint=True,
                to_field="code",
                related_name="household_enrolments",
                on_delete=OnDelete.RESTRICT,
            ),
        ),
        ops.AddField(
            model_name="Enrolment",
            name="name_as_given",
            field=fields.CharField(null=True, description="the name as given at enrolment", max_length=50),
        ),
        ops.AddField(
            model_name="Enrolment",
            name="phone_cipher",
            field=fields.BinaryField(null=True, description="the phone given at enrolment, encrypted"),
        ),
        ops.AddField(
            model_name="Enrolment",
            name="phone_index",
            field=fields.CharField(
                null=True, description="HMAC-SHA256 blind index of the phone given", max_length=64
            ),
        ),
        ops.AddField(
            model_name="Enrolment",
            name="phone_masked",
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name="Enrolment",
            name="review_flags",
            field=fields.JSONField(
                default=list,
                description="for auditors only: name_differs (the name given is not the registered one)",
                db_default=SqlDefault("'[]'::jsonb"),
                encoder=functools.partial(dumps, separators=(",", ":")),
                decoder=loads,
            ),
        ),
        ops.AddIndex(
            model_name="Enrolment",
            index=Index(fields=["phone_index"]),
        ),
        ops.RunSQL(FORWARD, reverse_sql=REVERSE),
    ]
