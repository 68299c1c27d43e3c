"""Each stored ack keeps the SHA-256 of the command it answers (``command_acks.digest``).

A resend under a committed command id gets the stored ack only when its content is the same;
other content under that id is refused (``id_reused``) instead of being answered with the old
ack while the new content is dropped. Acks stored before this migration have no digest and are
answered as before.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("command_acks", sa.Column("digest", sa.LargeBinary(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("command_acks") as batch:
        batch.drop_column("digest")
