from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_import_batch_refused_cells")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Certificate",
            name="status_changed_by_role",
            field=fields.CharField(
                default="", description="the role that last set the status", db_default="", max_length=16
            ),
        ),
    ]
