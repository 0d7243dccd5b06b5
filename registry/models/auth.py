"""People who sign in, and API keys for an institution's own systems."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from registry.enums import Role
from registry.models.institution import Institution
from registry.models.reference import Division


class User(Model):
    id = fields.UUIDField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    display_name = fields.CharField(max_length=100, default="")
    role = fields.CharEnumField(Role, max_length=16)
    institution: fields.ForeignKeyNullableRelation[Institution] = fields.ForeignKeyField(
        "registry.Institution", related_name="users", null=True, on_delete=fields.RESTRICT
    )
    division: fields.ForeignKeyNullableRelation[Division] = fields.ForeignKeyField(
        "registry.Division",
        related_name="auditors",
        null=True,
        on_delete=fields.RESTRICT,
        description="a county auditor's scope; none = the whole city",
    )
    password_hash = fields.CharField(max_length=255)
    is_active = fields.BooleanField(default=True)
    must_change_password = fields.BooleanField(
        default=False, description="a temporary password set by an administrator: changed at first sign-in"
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "app_user"


class ApiKey(Model):
    """A machine credential of one institution. Only the SHA-256 of the secret is kept."""

    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=100)
    prefix = fields.CharField(max_length=16, unique=True)
    key_hash = fields.CharField(max_length=64)
    role = fields.CharEnumField(Role, max_length=16, description="institution or assessor")
    institution: fields.ForeignKeyRelation[Institution] = fields.ForeignKeyField(
        "registry.Institution", related_name="api_keys", on_delete=fields.RESTRICT
    )
    created_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "registry.User", related_name="api_keys", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"
