"""Wrong enrolment codes slow their source down; signed logins are single-use.

``enrolment_failures`` counts wrong codes per source address, for one seat (``scope`` is
``session/seat``) and over every seat (``scope`` is ``*``), with the time of the last one; the
back-off rule is ``server/domain/access.py``. ``enrolment_codes.last_login_ms`` is the ``t`` of the
seat's newest accepted signed login: a login is accepted only with a later ``t``, so a captured
login cannot be replayed. The old per-seat ``attempts`` lock is no longer read (it let anyone
without a token lock a seat for good).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

WRITER_ROLE = "evalroom_writer"


def upgrade() -> None:
    op.create_table(
        "enrolment_failures",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("scope", sa.String(140), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_ms", sa.BigInteger, nullable=False),
    )
    op.add_column("enrolment_codes", sa.Column("last_login_ms", sa.BigInteger, nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""DO $$ BEGIN
                IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{WRITER_ROLE}') THEN
                    REVOKE ALL ON enrolment_failures FROM PUBLIC;
                    GRANT SELECT, INSERT, UPDATE, DELETE ON enrolment_failures TO {WRITER_ROLE};
                END IF;
            END $$"""  # noqa: S608 (constant names, no input)
        )


def downgrade() -> None:
    with op.batch_alter_table("enrolment_codes") as batch:
        batch.drop_column("last_login_ms")
    op.drop_table("enrolment_failures")
