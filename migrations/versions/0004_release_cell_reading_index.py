"""an index for reading one kind of cell across a release's units

Revision ID: 0004_release_cell_reading
Revises: 0003_api_tokens_access_log
Create Date: 2026-12-04 03:00:00

"""
from alembic import op


revision = '0004_release_cell_reading'
down_revision = '0003_api_tokens_access_log'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_release_cell_reading',
        'release_cell',
        ['release_id', 'scope', 'cut', 'metric', 'measure'],
        unique=False,
    )


def downgrade():
    op.drop_index('ix_release_cell_reading', table_name='release_cell')
