"""admission: which rule let an inbound message count, why one waits, an extension notice's
claim; approved sender domains

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('approveddomain',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform_slug', sa.String(), nullable=False),
    sa.Column('domain', sa.String(), nullable=False),
    sa.Column('approved_by', sa.String(), nullable=False),
    sa.Column('approved_at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['platform_slug'], ['platform.slug'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('platform_slug', 'domain', name='uq_approved_domain')
    )
    with op.batch_alter_table('approveddomain', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approveddomain_platform_slug'), ['platform_slug'], unique=False)
    empty = sa.text("''")
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('admission', sa.String(), nullable=False, server_default=empty))
        batch_op.add_column(sa.Column('hold', sa.String(), nullable=False, server_default=empty))
        batch_op.add_column(sa.Column('extension', sa.String(), nullable=False, server_default=empty))
    # Say by which rule the messages stored before this revision counted, rather than guess.
    message = sa.table('message', *(sa.column(name) for name in (
        'admission', 'direction', 'request_id', 'channel', 'triage')))
    inbound = sa.and_(message.c.direction == 'in', message.c.request_id.is_not(None))
    by_mail = sa.and_(inbound, message.c.channel != 'manual')
    for rule, which in (('recorded-by-hand', sa.and_(inbound, message.c.channel == 'manual')),
                        ('staff-confirmed', sa.and_(by_mail, message.c.triage == 'linked')),
                        ('before-0004', sa.and_(by_mail, message.c.triage == ''))):
        op.execute(message.update().where(which).values(admission=rule))


def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('extension')
        batch_op.drop_column('hold')
        batch_op.drop_column('admission')
    with op.batch_alter_table('approveddomain', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approveddomain_platform_slug'))
    op.drop_table('approveddomain')
