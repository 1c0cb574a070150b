"""issue 13, pages at a large program's size: the measures' running tally, and the
patient search answered by an index (trigrams on PostgreSQL)

Revision ID: 053b0d52d89f
Revises: e1a0c3d5f710

``measure_counts`` is filled here from the recorded dates (the app keeps it from then on,
``navigator.workups.MeasureCount``). The search looks for words inside the folded name
and inside the number (``LIKE '%...%'``), which a btree cannot answer: on PostgreSQL the
index becomes a GIN trigram index (``pg_trgm``, a trusted extension any database owner
may create); where the extension cannot be created, and on SQLite, it stays a btree and
a search reads the table, as before. Two more indexes: the worklist filtered by
language, and the patient page's look-up of its audited cancellations.
"""

from collections import Counter

import sqlalchemy as sa
from alembic import op

revision = "053b0d52d89f"
down_revision = "e1a0c3d5f710"
branch_labels = None
depends_on = None

MILESTONES = ("biopsy_on", "results_on", "treatment_on")
TRIGRAMS = {"search_name": "gin_trgm_ops", "phone": "gin_trgm_ops"}


def upgrade():
    op.create_table(
        "measure_counts",
        sa.Column("milestone", sa.String(length=20), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("days", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("patients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("milestone", "month", "language", "days"),
    )
    _fill_measure_counts()
    with op.batch_alter_table("patients") as batch:
        batch.drop_index("ix_patients_search_name")
    if op.get_bind().dialect.name == "postgresql" and _trigrams_available():
        op.create_index(
            "ix_patients_search",
            "patients",
            ["search_name", "phone"],
            postgresql_using="gin",
            postgresql_ops=TRIGRAMS,
        )
    else:
        op.create_index("ix_patients_search", "patients", ["search_name", "phone"])
    op.create_index("ix_patients_language", "patients", ["language", "id"])
    op.create_index("ix_audit_events_entity", "audit_events", ["entity", "entity_id"])


def _trigrams_available() -> bool:
    """Create pg_trgm if it is not there yet; False (nothing changed) when refused."""
    bind = op.get_bind()
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def _fill_measure_counts():
    """The same tally as navigator.measures.tally, from every workup's recorded dates."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT w.suspected_on, p.language, w.biopsy_on, w.results_on, w.treatment_on"
            "  FROM workups w JOIN patients p ON p.id = w.patient_id"
            " WHERE w.suspected_on IS NOT NULL"
        )
    ).all()
    counts = Counter()
    for suspected, language, *ends in rows:
        suspected, ends = _day(suspected), [_day(end) for end in ends]
        month = suspected.strftime("%Y-%m")
        counts["suspected_on", month, language or "", 0] += 1
        for milestone, end in zip(MILESTONES, ends, strict=True):
            if end is not None:
                counts[milestone, month, language or "", (end - suspected).days] += 1
    table = sa.table(
        "measure_counts",
        *(sa.column(name) for name in ("milestone", "month", "language", "days", "patients")),
    )
    if counts:
        op.bulk_insert(
            table,
            [
                {"milestone": m, "month": month, "language": lang, "days": d, "patients": n}
                for (m, month, lang, d), n in counts.items()
            ],
        )


def _day(value):
    """A date as SQLite (text) or PostgreSQL (date) returns it."""
    from datetime import date

    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def downgrade():
    op.drop_index("ix_audit_events_entity", table_name="audit_events")
    op.drop_index("ix_patients_language", table_name="patients")
    op.drop_index("ix_patients_search", table_name="patients")
    with op.batch_alter_table("patients") as batch:
        batch.create_index("ix_patients_search_name", ["search_name"])
    op.drop_table("measure_counts")
