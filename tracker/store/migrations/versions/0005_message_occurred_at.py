"""message.sent_at is message.occurred_at: when a letter left, or when a reply arrived

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # For inbound mail the column always held the arrival, never a sending time: the name now
    # says what it holds for both directions. The values do not change.
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.alter_column('sent_at', new_column_name='occurred_at')


def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.alter_column('occurred_at', new_column_name='sent_at')
