"""coordinator sessions: when sessions were last ended, and a temporary password flag

Revision ID: d5f7b9c1e324
Revises: c4e6a8b0d213
"""

import sqlalchemy as sa
from alembic import op

revision = "d5f7b9c1e324"
down_revision = "c4e6a8b0d213"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("coordinators") as batch:
        batch.add_column(sa.Column("sessions_valid_after", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade():
    with op.batch_alter_table("coordinators") as batch:
        batch.drop_column("must_change_password")
        batch.drop_column("sessions_valid_after")
