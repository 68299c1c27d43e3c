"""The event log: sessions, events, command acks, snapshots, enrolment codes.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("head_seq", sa.BigInteger, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "command_acks",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("actor", sa.String(128), primary_key=True),
        sa.Column("command_id", sa.String(64), primary_key=True),
        sa.Column("ack", sa.Text, nullable=False),
    )
    op.create_table(
        "snapshots",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
    )
    op.create_table(
        "enrolment_codes",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("seat", sa.String(64), primary_key=True),
        sa.Column("code_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("enrolment_codes", "snapshots", "command_acks", "events", "sessions"):
        op.drop_table(table)
