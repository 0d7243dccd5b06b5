"""Public notices (公示) of claims, and the payments of grants."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from registry.models.ledger import SubsidyGrant
from registry.models.subsidy import SubsidyClaim


# Columns of ``claim_notice`` (a comment: Tortoise makes a class docstring the table's comment):
#
# - ``claim_id``: the claim whose approved lines it lists (a claim may have several notices:
#   lines sent back to review and decided again go on a later one).
# - ``published_on``: the business date it was published; ``days``: the working days it
#   runs (registry.notices.rules.notice_days); ``runs_from`` / ``runs_to``: the first and the
#   last of them; it ends at the end of ``runs_to`` (Asia/Shanghai).
# - ``status``: ``running`` until closed, then ``closed`` (its approved lines became grants).
# - ``granted_lines`` / ``returned_lines``: written when it closes.
class ClaimNotice(Model):
    id = fields.UUIDField(primary_key=True)
    claim: fields.ForeignKeyRelation[SubsidyClaim] = fields.ForeignKeyField(
        "registry.SubsidyClaim", related_name="notices", on_delete=fields.RESTRICT
    )
    published_on = fields.DateField()
    runs_from = fields.DateField()
    runs_to = fields.DateField(description="the notice ends at the end of this day (Asia/Shanghai)")
    days: fields.JSONField[list[str]] = fields.JSONField(default=list)
    status = fields.CharField(max_length=16, default="running", description="running or closed")
    published_by = fields.CharField(max_length=100)
    published_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    closed_by = fields.CharField(max_length=100, null=True)
    granted_lines = fields.IntField(default=0)
    returned_lines = fields.IntField(default=0)

    class Meta:
        table = "claim_notice"
        table_description = "A public notice (公示) of a claim's approved lines, on the working-day calendar"
        indexes = (("status", "runs_to"), ("claim_id",))


# Columns of ``subsidy_payment``: one row per paid grant (the ledger itself never changes):
# when it was paid and in which of the bureau's payment batches.
class SubsidyPayment(Model):
    id = fields.UUIDField(primary_key=True)
    grant: fields.OneToOneRelation[SubsidyGrant] = fields.OneToOneField(
        "registry.SubsidyGrant", related_name="payment", on_delete=fields.RESTRICT
    )
    claim: fields.ForeignKeyRelation[SubsidyClaim] = fields.ForeignKeyField(
        "registry.SubsidyClaim", related_name="payments", on_delete=fields.RESTRICT
    )
    paid_on = fields.DateField()
    batch_reference = fields.CharField(max_length=64)
    amount_fen = fields.BigIntField()
    recorded_by = fields.CharField(max_length=100)
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "subsidy_payment"
        table_description = "The payment of a grant: date and the bureau's batch reference"
        indexes = (("claim_id",),)
