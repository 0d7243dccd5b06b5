from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("registry", "0005_lookup_indexes")]

    initial = False

    operations = [
        ops.CreateModel(
            name="OutboxJob",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                (
                    "name",
                    fields.CharField(
                        description="the job (Celery task) name, registry.<area>.<verb>", max_length=200
                    ),
                ),
                (
                    "kwargs",
                    fields.JSONField(
                        description="the job's arguments: ids and plain values",
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "sent_at",
                    fields.DatetimeField(
                        null=True,
                        description="when the broker accepted it; null = unsent",
                        auto_now=False,
                        auto_now_add=False,
                    ),
                ),
                ("attempts", fields.IntField(default=0, description="sends tried (failed ones included)")),
                (
                    "last_error",
                    fields.TextField(null=True, description="the last failed send's error", unique=False),
                ),
                (
                    "done_at",
                    fields.DatetimeField(
                        null=True,
                        description="when a task recorded its effect (runs once)",
                        auto_now=False,
                        auto_now_add=False,
                    ),
                ),
            ],
            options={
                "table": "outbox",
                "app": "registry",
                "indexes": [Index(fields=["sent_at", "created_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
