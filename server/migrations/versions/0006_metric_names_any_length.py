"""metric names of any length (PostgreSQL)

Keras takes a metric's `name` of any length; `metrics.name` was `VARCHAR(200)`, so an
epoch of a model compiled with a longer name could not be recorded and its job failed.
`TEXT` stores any name. Changing `VARCHAR` to `TEXT` rewrites nothing in PostgreSQL;
SQLite never enforced the length.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("metrics", "name", type_=sa.Text(), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("metrics", "name", type_=sa.String(200), existing_nullable=False)
