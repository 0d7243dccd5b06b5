"""``registry create-user``: create a user who signs in, or reset a password."""

from __future__ import annotations

import argparse
import getpass
import os
import uuid

from cli.runtime import run_with_db
from registry.accounts.users import UserInput, create_user, set_password
from registry.core.principal import system
from registry.core.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("username")
    parser.add_argument("--role", choices=["admin", "auditor", "institution", "assessor"])
    parser.add_argument("--institution-id", type=uuid.UUID, help="for institution and assessor users")
    parser.add_argument("--division", help="6-digit division code: a county auditor's scope")
    parser.add_argument("--display-name", default="")
    parser.add_argument(
        "--reset-password", action="store_true", help="set a new password for an existing user"
    )
    parser.add_argument(
        "--password-env",
        default="REGISTRY_NEW_PASSWORD",
        help="read the password from this environment variable (default REGISTRY_NEW_PASSWORD); "
        "prompted for when it is not set",
    )


def run(args: argparse.Namespace) -> int:
    password = os.environ.get(args.password_env) or getpass.getpass(f"password for {args.username}: ")
    actor = system("cli")

    async def work(_settings: Settings) -> str:
        if args.reset_password:
            await set_password(actor, args.username, password)
            return f"password reset for {args.username}"
        if args.role is None:
            raise SystemExit("--role is required to create a user")
        user = await create_user(
            actor,
            UserInput(
                username=args.username,
                password=password,
                role=args.role,
                institution_id=args.institution_id,
                division_code=args.division,
                display_name=args.display_name,
            ),
        )
        return f"created {user.username} ({args.role}) id={user.id}"

    print(run_with_db(work))
    return 0
