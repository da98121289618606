"""inbound mail: IMAP source keys, judgement and matching of messages; folder checkpoints

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('folderstate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(), nullable=False),
    sa.Column('folder', sa.String(), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account', 'folder', name='uq_folder_state')
    )
    empty, none = sa.text("''"), sa.text("'[]'")
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('folder', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('uidvalidity', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('uid', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('authenticity', sa.String(), nullable=False, server_default=empty))
        batch_op.add_column(sa.Column('reasons', sa.JSON(), nullable=False, server_default=none))
        batch_op.add_column(sa.Column('match_rule', sa.String(), nullable=False, server_default=empty))
        batch_op.add_column(sa.Column('triage', sa.String(), nullable=False, server_default=empty))
        batch_op.add_column(sa.Column('ticket', sa.String(), nullable=False, server_default=empty))
        batch_op.add_column(sa.Column('bounced', sa.JSON(), nullable=False, server_default=none))
        batch_op.add_column(sa.Column('defects', sa.JSON(), nullable=False, server_default=none))
        batch_op.create_index(batch_op.f('ix_message_triage'), ['triage'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_sha256'), ['sha256'], unique=False)
        batch_op.create_unique_constraint('uq_message_source', ['account', 'folder', 'uidvalidity', 'uid'])
    with op.batch_alter_table('request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_failed', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('tickets', sa.JSON(), nullable=False, server_default=none))


def downgrade() -> None:
    with op.batch_alter_table('request', schema=None) as batch_op:
        batch_op.drop_column('tickets')
        batch_op.drop_column('delivery_failed')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_constraint('uq_message_source', type_='unique')
        batch_op.drop_index(batch_op.f('ix_message_sha256'))
        batch_op.drop_index(batch_op.f('ix_message_triage'))
        for column in ('defects', 'bounced', 'ticket', 'triage', 'match_rule', 'reasons',
                       'authenticity', 'uid', 'uidvalidity', 'folder', 'account'):
            batch_op.drop_column(column)
    op.drop_table('folderstate')
