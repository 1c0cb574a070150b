"""caregiver time zone: a caregiver's copies respect quiet hours where the caregiver lives

Revision ID: 9b7c1e4d2a63
Revises: 5d2e7a9c4b10
"""

import sqlalchemy as sa
from alembic import op

revision = "9b7c1e4d2a63"
down_revision = "5d2e7a9c4b10"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("caregivers") as batch:
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("caregivers") as batch:
        batch.drop_column("timezone")
