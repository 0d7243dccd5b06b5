"""Config for Tortoise's migration CLI (``tortoise -c registry.migrations_config.TORTOISE_ORM``).

``makemigrations`` never connects; ``migrate`` reads ``DATABASE_URL``.
"""

import os

from registry.core.db import tortoise_config

TORTOISE_ORM = tortoise_config(
    os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/registry")
)
