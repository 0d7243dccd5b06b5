from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("registry", "0004_certificate_status_changed_by_role")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Certificate",
            index=Index(fields=["issuer_id", "issue_date"]),
        ),
        ops.AddIndex(
            model_name="Certificate",
            index=Index(fields=["cohort_id"]),
        ),
        ops.AddIndex(
            model_name="Enrolment",
            index=Index(fields=["trainee_id"]),
        ),
    ]
