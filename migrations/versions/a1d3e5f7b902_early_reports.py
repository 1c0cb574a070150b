"""early reports: delivery reports kept until the sender has recorded the SID they are for

Revision ID: a1d3e5f7b902
Revises: 9b7c1e4d2a63
"""

import sqlalchemy as sa
from alembic import op

revision = "a1d3e5f7b902"
down_revision = "9b7c1e4d2a63"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "early_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error_code", sa.String(length=16), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("early_reports") as batch:
        batch.create_index(batch.f("ix_early_reports_sid"), ["sid"], unique=False)


def downgrade():
    with op.batch_alter_table("early_reports") as batch:
        batch.drop_index(batch.f("ix_early_reports_sid"))
    op.drop_table("early_reports")
