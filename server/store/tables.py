"""The schema, as SQLAlchemy Core tables. Alembic migrations create it; tests compare the two."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# One row per session: the head of its log. Appends lock this row (PostgreSQL: FOR UPDATE) so
# ``seq`` is gap-free even with several nodes writing.
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("head_seq", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

# The log. ``body`` holds the canonical bytes exactly as hashed; ``hash`` is the leaf hash.
events = Table(
    "events",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("type", String(64), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
)

# Idempotency: the ack of every committed command, keyed by who sent it and its client id, with
# the SHA-256 of the command's content (``command_digest``; NULL for acks stored before 0004): a
# resend gets the ack, other content under the same id is refused.
command_acks = Table(
    "command_acks",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("actor", String(128), primary_key=True),
    Column("command_id", String(64), primary_key=True),
    Column("ack", Text, nullable=False),
    Column("digest", LargeBinary(32), nullable=True),
)

# Projection snapshots so that loading a long session does not fold from seq 1.
snapshots = Table(
    "snapshots",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("state", Text, nullable=False),
)

# One-time enrolment codes, stored as keyed hashes; they are secrets and stay out of the log.
enrolment_codes = Table(
    "enrolment_codes",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("seat", String(64), primary_key=True),
    Column("code_hash", LargeBinary(32), nullable=False),
    Column("attempts", Integer, nullable=False),  # no longer read (migration 0005)
    Column("last_login_ms", BigInteger, nullable=True),  # ``t`` of the newest signed login
)

# Wrong enrolment codes per source address: for one seat (``session/seat``) and over all (``*``).
enrolment_failures = Table(
    "enrolment_failures",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("scope", String(140), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_ms", BigInteger, nullable=False),
)

# Perfect subtree hashes above the leaves (level >= 1; the leaves are ``events.hash``), written as
# appends complete them: any root or proof then needs O(log n) lookups, never a recomputation.
tree_nodes = Table(
    "tree_nodes",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("level", Integer, primary_key=True),
    Column("idx", BigInteger, primary_key=True),
    Column("hash", LargeBinary(32), nullable=False),
)

# Signed checkpoints (C2SP signed note), written by the node in the append transaction.
checkpoints = Table(
    "checkpoints",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("size", BigInteger, primary_key=True),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

# Witnesses' cosignature lines on this node's checkpoints, one per witness and checkpoint.
cosignatures = Table(
    "cosignatures",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("size", BigInteger, primary_key=True),
    Column("witness", String(128), primary_key=True),
    Column("line", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

# When this node acts as a witness: every checkpoint of another log it verified and cosigned.
witnessed = Table(
    "witnessed",
    metadata,
    Column("origin", String(256), primary_key=True),
    Column("size", BigInteger, primary_key=True),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)
