"""attempt exam form

Revision ID: a71c0e5d2b48
Revises: e9ea236ab5bb
Create Date: 2026-12-02 01:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a71c0e5d2b48'
down_revision = 'e9ea236ab5bb'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exam_form', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_column('exam_form')
