"""content hash of every loaded or quarantined event: tell a re-delivered copy from a conflict

A producer that retries, a full refresh or a replay re-sends an event under the same id; the
copies differ only in ``runid`` and ``landinguri``. The loader compares the hash of the rest
(:func:`ecohub.loader.content_hash`) with the copy it already holds: equal means the same
event again (absorbed), different means a conflicting duplicate (quarantined). Rows loaded
before this revision have no hash; a copy of them is absorbed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("entity_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_quarantine_event_id", ["event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantine_event_id")
        batch_op.drop_column("content_hash")
    with op.batch_alter_table("entity_version", schema=None) as batch_op:
        batch_op.drop_column("content_hash")
