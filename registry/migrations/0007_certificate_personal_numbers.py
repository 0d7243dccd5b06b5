"""Certificate numbers that are ID numbers become personal data.

A 特种作业操作证's number is its holder's ID number. Such a number is now kept only
encrypted (``number_cipher``), with a blind index (``number_index``, unique) and a masked form
(``number_masked``); ``number`` becomes nullable and is NULL for them.

Existing rows need no conversion when their number is not shaped like an ID number (17 digits
and a digit or X): they keep ``number`` as it is. Rows whose number has that shape cannot be
converted here (encryption needs the data key, which the database never sees): after migrating,
the operator runs ``registry seal-certificate-numbers`` (docs/operations.md), which encrypts,
indexes and masks them and clears ``number``. Until then such a certificate is not shown by
``GET /verify/{number}`` (no ID-shaped number is looked up there) and is still found by
``POST /verify`` with the number and the holder's name.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("registry", "0006_outbox")]

    initial = False

    operations = [
        ops.AlterField(
            model_name="Certificate",
            name="number",
            field=fields.CharField(
                null=True,
                unique=True,
                description="the number as issued; NULL when it is an ID number",
                max_length=64,
            ),
        ),
        ops.AddField(
            model_name="Certificate",
            name="number_cipher",
            field=fields.BinaryField(null=True, description="a number that is an ID number, encrypted"),
        ),
        ops.AddField(
            model_name="Certificate",
            name="number_index",
            field=fields.CharField(
                null=True,
                unique=True,
                description="HMAC-SHA256 blind index of a number that is an ID number",
                max_length=64,
            ),
        ),
        ops.AddField(
            model_name="Certificate",
            name="number_masked",
            field=fields.CharField(
                null=True, description="a number that is an ID number, masked", max_length=18
            ),
        ),
    ]
