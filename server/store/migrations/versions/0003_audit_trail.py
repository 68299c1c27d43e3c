"""The audit trail: stored subtree hashes, signed checkpoints, witness cosignatures.

Every table here is append-only, refused UPDATE and DELETE by triggers (both databases). In
PostgreSQL the migration also creates the group role ``evalroom_writer`` that may only SELECT and
INSERT on the log tables (UPDATE only where a row is meant to change: the session head and code
attempt counters); the server joins it with ``EVALROOM_DATABASE_ROLE`` (see ARCHITECTURE.md).

Existing sessions get their subtree hashes computed from the stored leaf hashes.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.auditlog.merkle import CompactRange

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = ("tree_nodes", "checkpoints", "cosignatures", "witnessed")
WRITER_ROLE = "evalroom_writer"


def _create_tables() -> None:
    op.create_table(
        "tree_nodes",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("level", sa.Integer, primary_key=True),
        sa.Column("idx", sa.BigInteger, primary_key=True),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "checkpoints",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, primary_key=True),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "cosignatures",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, primary_key=True),
        sa.Column("witness", sa.String(128), primary_key=True),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "witnessed",
        sa.Column("origin", sa.String(256), primary_key=True),
        sa.Column("size", sa.BigInteger, primary_key=True),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )


def _backfill_tree() -> None:
    bind = op.get_bind()
    sessions = [row[0] for row in bind.execute(sa.text("SELECT id FROM sessions"))]
    for session in sessions:
        tree = CompactRange()
        rows = []
        for (digest,) in bind.execute(
            sa.text("SELECT hash FROM events WHERE session_id = :s ORDER BY seq"), {"s": session}
        ):
            for level, idx, node in tree.append_nodes(bytes(digest)):
                if level >= 3:  # server.store.audit.MIN_STORED_LEVEL
                    rows.append({"s": session, "l": level, "i": idx, "h": node})
        if rows:
            bind.execute(
                sa.text("INSERT INTO tree_nodes VALUES (:s, :l, :i, :h)"),
                rows,
            )


def _sqlite_triggers() -> None:
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END"
            )


def _postgres_triggers_and_grants() -> None:
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION evalroom_refuse_change()"
        )
    # The role is cluster-wide and may exist already (another database, an earlier run).
    # Without the right to create roles the grants are skipped with a notice: triggers still hold.
    op.execute(
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{WRITER_ROLE}') THEN
                CREATE ROLE {WRITER_ROLE} NOLOGIN;
            END IF;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'cannot create role {WRITER_ROLE}; grant it by hand (ARCHITECTURE.md)';
        END $$"""
    )
    log_tables = ", ".join(("events", "command_acks", "snapshots", *APPEND_ONLY))
    op.execute(
        f"""DO $$ BEGIN
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{WRITER_ROLE}') THEN
                REVOKE ALL ON {log_tables}, sessions, enrolment_codes FROM PUBLIC;
                GRANT SELECT, INSERT ON {log_tables} TO {WRITER_ROLE};
                GRANT SELECT, INSERT, UPDATE ON sessions, enrolment_codes TO {WRITER_ROLE};
                GRANT SELECT ON alembic_version TO {WRITER_ROLE};
            END IF;
        END $$"""  # noqa: S608 (constant names, no input)
    )


def upgrade() -> None:
    _create_tables()
    _backfill_tree()
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()
    else:
        _postgres_triggers_and_grants()


def downgrade() -> None:
    for table in reversed(APPEND_ONLY):
        op.drop_table(table)
