"""send pacing: one row that spaces outbound sends across every worker process

Revision ID: 5d2e7a9c4b10
Revises: 3f1c0a7b9d21
"""

import sqlalchemy as sa
from alembic import op

revision = "5d2e7a9c4b10"
down_revision = "3f1c0a7b9d21"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "send_pacing",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("next_at", sa.Float(), nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "next_at": 0.0}])


def downgrade():
    op.drop_table("send_pacing")
