"""web users, their sessions and failed sign-ins

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(), nullable=False),
    sa.Column('password_hash', sa.String(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(), nullable=False),
    sa.Column('totp_secret', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_person_name', 'person', ['name'], unique=True)
    op.create_table('websession',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('address', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['person.id']),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index('ix_websession_user_id', 'websession', ['user_id'], unique=False)
    op.create_table('loginattempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_loginattempt_name', 'loginattempt', ['name'], unique=False)
    op.create_index('ix_loginattempt_address', 'loginattempt', ['address'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_loginattempt_address', table_name='loginattempt')
    op.drop_index('ix_loginattempt_name', table_name='loginattempt')
    op.drop_table('loginattempt')
    op.drop_index('ix_websession_user_id', table_name='websession')
    op.drop_table('websession')
    op.drop_index('ix_person_name', table_name='person')
    op.drop_table('person')
