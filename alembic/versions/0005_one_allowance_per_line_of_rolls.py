"""One usage allowance for a key and the keys rolled from it: a successor is counted against the first key's row.

Until now `keys roll` copied the old key's count into its successor, and the old key kept counting on its own during
its grace, so that the two together could be used far beyond the limit. The lines of rolls already made are read
from the ``api_key.rolled`` events. How many of their uses were made after each copy is not known: the line's count
becomes the highest of its keys' counts, so that no key has more uses left than it had; the successors' own counts
are zeroed, as a roll now leaves them. A downgrade gives each successor the line's count again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each key made by a roll, with the first key of its line (every key is rolled at most once, from one key).
LINES = """
WITH RECURSIVE rolled AS (
    SELECT data ->> 'from_key_id' AS from_key, data ->> 'to_key_id' AS to_key
      FROM events WHERE event_type = 'api_key.rolled'
), line (key_id, first_key) AS (
    SELECT from_key, from_key FROM rolled WHERE from_key NOT IN (SELECT to_key FROM rolled)
    UNION ALL
    SELECT rolled.to_key, line.first_key FROM line JOIN rolled ON rolled.from_key = line.key_id
)
"""


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("allowance_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_api_keys_allowance_id_api_keys"), "api_keys", "api_keys", ["allowance_id"], ["id"], ondelete="CASCADE"
    )
    op.create_index(op.f("ix_api_keys_allowance_id"), "api_keys", ["allowance_id"], unique=False)
    op.execute(
        LINES
        + """
        UPDATE api_keys successor SET allowance_id = first.id
          FROM line JOIN api_keys first ON first.key_id = line.first_key
         WHERE successor.key_id = line.key_id AND line.key_id <> line.first_key
        """
    )
    op.execute(
        """
        UPDATE api_keys first SET usage_count = line.most
          FROM (SELECT allowance_id, max(usage_count) AS most FROM api_keys GROUP BY allowance_id) line
         WHERE first.id = line.allowance_id AND line.most > first.usage_count
        """
    )
    op.execute("UPDATE api_keys SET usage_count = 0 WHERE allowance_id IS NOT NULL")


def downgrade() -> None:
    op.execute(
        """
        UPDATE api_keys successor SET usage_count = first.usage_count
          FROM api_keys first WHERE first.id = successor.allowance_id
        """
    )
    op.drop_index(op.f("ix_api_keys_allowance_id"), table_name="api_keys")
    op.drop_constraint(op.f("fk_api_keys_allowance_id_api_keys"), "api_keys", type_="foreignkey")
    op.drop_column("api_keys", "allowance_id")
