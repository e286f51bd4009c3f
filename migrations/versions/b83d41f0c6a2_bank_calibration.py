"""bank calibration

Revision ID: b83d41f0c6a2
Revises: a71c0e5d2b48
Create Date: 2026-12-02 01:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b83d41f0c6a2'
down_revision = 'a71c0e5d2b48'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'bank_calibration',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('bank_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('responses', sa.Integer(), nullable=False),
        sa.Column('learners', sa.Integer(), nullable=False),
        sa.Column('population', sa.JSON(), nullable=False),
        sa.Column('items', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['bank_id'], ['bank.id'], name=op.f('fk_bank_calibration_bank_id_bank'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_calibration')),
    )
    with op.batch_alter_table('bank_calibration', schema=None) as batch_op:
        batch_op.create_index('ix_bank_calibration_bank_created', ['bank_id', 'created_at'], unique=False)
    with op.batch_alter_table('readiness_snapshot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('readiness_snapshot', schema=None) as batch_op:
        batch_op.drop_column('evidence')
    with op.batch_alter_table('bank_calibration', schema=None) as batch_op:
        batch_op.drop_index('ix_bank_calibration_bank_created')
    op.drop_table('bank_calibration')
