"""manual-batch sessions (the calls a session job answers); stop requests

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("stop_requested", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_table(
        "session_calls",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("op", sa.String(length=16), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("output", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("session_calls") as batch:
        batch.create_index("ix_session_calls_job_status", ["job_id", "status", "id"])


def downgrade() -> None:
    with op.batch_alter_table("session_calls") as batch:
        batch.drop_index("ix_session_calls_job_status")
    op.drop_table("session_calls")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("stop_requested")
