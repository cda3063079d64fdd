"""accounts: API keys, per-user blob references, imported weights

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["owner"], ["users.name"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("prefix"),
    )
    op.create_index("ix_api_keys_owner", "api_keys", ["owner"])
    op.create_table(
        "blob_refs",
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("blob_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner"], ["users.name"]),
        sa.ForeignKeyConstraint(["blob_id"], ["blobs.id"]),
        sa.PrimaryKeyConstraint("owner", "blob_id"),
    )
    # Whoever uploaded a blob so far keeps access to it.
    op.execute("INSERT INTO blob_refs (owner, blob_id, created_at) "
               "SELECT owner, id, created_at FROM blobs")
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("import_weights_blob", sa.String(length=64),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.drop_column("import_weights_blob")
    op.drop_table("blob_refs")
    op.drop_index("ix_api_keys_owner", table_name="api_keys")
    op.drop_table("api_keys")
