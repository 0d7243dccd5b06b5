"""What-if simulations of draft policies (``POST /policies/simulate``): the division a county
auditor's simulation is scoped to (null = the whole city), and a CHECK on the status.

Written as Tortoise's ``makemigrations`` writes the column, plus SQL for the CHECK.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

FORWARD = [
    "ALTER TABLE policy_simulation ADD CONSTRAINT policy_simulation_status_check "
    "CHECK (status IN ('queued', 'done', 'failed'));",
]

REVERSE = ["ALTER TABLE policy_simulation DROP CONSTRAINT IF EXISTS policy_simulation_status_check;"]


class Migration(migrations.Migration):
    dependencies = [("registry", "0014_notices")]

    initial = False

    operations = [
        ops.AddField(
            model_name="PolicySimulation",
            name="division_id",
            field=fields.CharField(
                null=True,
                description="the county auditor's division it covers; null = the city",
                max_length=6,
            ),
        ),
        ops.RunSQL(FORWARD, reverse_sql=REVERSE),
    ]
