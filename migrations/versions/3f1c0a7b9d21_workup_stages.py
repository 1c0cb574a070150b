"""workup stages: the coordinator's workup tracker

Revision ID: 3f1c0a7b9d21
Revises: 8c2a25fefd09
Create Date: 2026-11-25 09:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = "3f1c0a7b9d21"
down_revision = "8c2a25fefd09"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "workup_stages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.ForeignKeyConstraint(["updated_by_id"], ["coordinators.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patient_id", "stage", name="uq_workup_stages_patient_stage"),
    )
    with op.batch_alter_table("workup_stages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workup_stages_patient_id"), ["patient_id"], unique=False)


def downgrade():
    with op.batch_alter_table("workup_stages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workup_stages_patient_id"))
    op.drop_table("workup_stages")
