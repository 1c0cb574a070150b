"""issue 10: message readings (how the navigator read a message, a coordinator's label)

Revision ID: e1a0c3d5f710
Revises: e7a9c1d3f512
"""

import sqlalchemy as sa
from alembic import op

revision = "e1a0c3d5f710"
down_revision = "e7a9c1d3f512"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "message_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("intent", sa.String(length=40), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("understood", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=True),
        sa.Column("labelled_by_id", sa.Integer(), nullable=True),
        sa.Column("labelled_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"]),
        sa.ForeignKeyConstraint(["labelled_by_id"], ["coordinators.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("message_readings") as batch:
        batch.create_index("ix_message_readings_alert_id", ["alert_id"])
        batch.create_index("ix_message_readings_created_at", ["created_at"])


def downgrade():
    with op.batch_alter_table("message_readings") as batch:
        batch.drop_index("ix_message_readings_created_at")
        batch.drop_index("ix_message_readings_alert_id")
    op.drop_table("message_readings")
