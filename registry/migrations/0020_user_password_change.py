from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('registry', '0019_money_slots')]

    initial = False

    operations = [
        ops.AddField(
            model_name='User',
            name='must_change_password',
            field=fields.BooleanField(default=False, description='a temporary password set by an administrator: changed at first sign-in'),
        ),
    ]
