"""binary columns stored out of line without compression (PostgreSQL)

Weights, checkpoints and session batches are NumPy floats: PostgreSQL's pglz gains
nothing on them (they are kept uncompressed in the end) but spends time trying, on
every checkpoint (each epoch, inside the training loop) and weights version.
`STORAGE EXTERNAL` keeps them out of line (TOAST) and skips the attempt. Applies to
values written from now on.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = [("weights", "data"), ("checkpoints", "data"), ("session_calls", "payload"),
           ("session_calls", "output")]


def _set_storage(storage: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite stores blobs as they are
    for table, column in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE {storage}")


def upgrade() -> None:
    _set_storage("EXTERNAL")


def downgrade() -> None:
    _set_storage("EXTENDED")
