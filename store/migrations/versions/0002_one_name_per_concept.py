"""one name per concept: usage_ledger -> charges, overrides -> audit_entries

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# (old table, new table, [(old index, new index, columns)])
RENAMES = [
    (
        "usage_ledger",
        "charges",
        [
            ("ix_usage_ledger_student_id", "ix_charges_student_id", ["student_id"]),
            ("ix_usage_ledger_subscription_id", "ix_charges_subscription_id", ["subscription_id"]),
        ],
    ),
    (
        "overrides",
        "audit_entries",
        [("ix_overrides_session_id", "ix_audit_entries_session_id", ["session_id"])],
    ),
]
OLD_UNIQUE = "uq_usage_ledger_session_id_student_id"
NEW_UNIQUE = "uq_charges_session_id_student_id"
# PostgreSQL keeps constraint names across a rename; SQLite has them inside the table.
PG_CONSTRAINTS = [
    ("charges", "pk_usage_ledger", "pk_charges"),
    ("charges", OLD_UNIQUE, NEW_UNIQUE),
    ("audit_entries", "pk_overrides", "pk_audit_entries"),
]


def _rename(forward: bool) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for old, new, indexes in RENAMES:
        src, dst = (old, new) if forward else (new, old)
        op.rename_table(src, dst)
        for old_ix, new_ix, columns in indexes:
            src_ix, dst_ix = (old_ix, new_ix) if forward else (new_ix, old_ix)
            op.drop_index(src_ix, table_name=dst)
            op.create_index(dst_ix, dst, columns, unique=False)
    if not postgres:
        # SQLite keeps a unique constraint's name inside the table: rebuild it.
        table = "charges" if forward else "usage_ledger"
        old_uq, new_uq = (OLD_UNIQUE, NEW_UNIQUE) if forward else (NEW_UNIQUE, OLD_UNIQUE)
        with op.batch_alter_table(table, recreate="always") as batch_op:
            batch_op.drop_constraint(old_uq, type_="unique")
            batch_op.create_unique_constraint(new_uq, ["session_id", "student_id"])
    if postgres:
        for table, old_name, new_name in PG_CONSTRAINTS:
            if not forward:
                table = {"charges": "usage_ledger", "audit_entries": "overrides"}[table]
                old_name, new_name = new_name, old_name
            op.execute(f'ALTER TABLE {table} RENAME CONSTRAINT "{old_name}" TO "{new_name}"')


def upgrade() -> None:
    _rename(forward=True)


def downgrade() -> None:
    _rename(forward=False)
