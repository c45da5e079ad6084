"""single sign-on: the identity provider's subject on linked accounts

Revision ID: 0008_sso
Revises: 0007_retention
Create Date: 2026-12-04 04:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_sso'
down_revision = '0007_retention'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('oidc_subject', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_user_account_oidc_subject'), ['oidc_subject'])


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_account_oidc_subject'), type_='unique')
        batch_op.drop_column('oidc_subject')
