"""issue 9: alert source SIDs, handled inbound texts, atomic sign-in counters

Revision ID: e9a1c3d5f709
Revises: e14a7c3b5d20
"""

import sqlalchemy as sa
from alembic import op

revision = "e9a1c3d5f709"
down_revision = "e14a7c3b5d20"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sign_in_counters",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("source_sid", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_alerts_kind_source_sid", ["kind", "source_sid"])
    # Texts stored before this revision were handled when they came: only texts stored from
    # now on may be 'received' (stored, not yet handled) and finished by the worker.
    op.execute(
        "UPDATE messages SET status = 'handled' "
        "WHERE direction = 'in' AND channel = 'sms' AND status = 'received'"
    )


def downgrade():
    op.execute(
        "UPDATE messages SET status = 'received' "
        "WHERE direction = 'in' AND channel = 'sms' AND status = 'handled'"
    )
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("uq_alerts_kind_source_sid", type_="unique")
        batch.drop_column("source_sid")
    op.drop_table("sign_in_counters")
