"""What an institution says about a person belongs to its enrolment; division aliases.

- ``division_alias``: names and codes people still write for a division (偃师市, 410381, 瀍河,
  高新区), mapped to today's division. Its rows come from the catalogue
  (``registry/catalogue/luoyang_division_aliases.csv``), loaded by ``registry load-reference``.
- ``enrolment`` gets the facts given at enrolment: the household division (today's code, and as
  written).

Data already stored: each existing enrolment gets its trainee's household division (what the
last writer left on the trainee, the best there is); ``household_as_written`` stays NULL for them.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

FORWARD = [
    """
    UPDATE enrolment AS e SET household_division_id = t.household_division_id
    FROM trainee AS t
    WHERE t.id = e.trainee_id AND t.household_division_id IS NOT NULL;
    """,
]

REVERSE: list[str] = []


class Migration(migrations.Migration):
    dependencies = [('registry', '0007_certificate_personal_numbers')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DivisionAlias',
            fields=[
                ('alias', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=50)),
                ('division', fields.ForeignKeyField('registry.Division', source_field='division_id', db_constraint=True, to_field='code', related_name='aliases', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharField(description='historic (retired in 2021) or short', max_length=16)),
                ('note', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'division_alias', 'app': 'registry', 'pk_attr': 'alias', 'table_description': 'A name or code people still write for a division (偃师市, 410381, 瀍河, 高新区), mapped to'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Enrolment',
            name='household_as_written',
            field=fields.CharField(null=True, description='the household division as written (偃师市, 410381)', max_length=50),
        ),
        ops.AddField(
            model_name='Enrolment',
            name='household_division',
            field=fields.ForeignKeyField('registry.Division', source_field='household_division_id', null=True, description="the household division as given at enrolment, today's code", db_constraint=True, to_field='code', related_name='household_enrolments', on_delete=OnDelete.RESTRICT),
        ),
        ops.RunSQL(FORWARD, reverse_sql=REVERSE),
    ]
