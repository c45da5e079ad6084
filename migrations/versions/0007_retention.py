"""retention: each run, and each wave whose raw answers it deleted

Revision ID: 0007_retention
Revises: 0006_actions_loop
Create Date: 2026-12-04

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_retention'
down_revision = '0006_actions_loop'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('retention_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('trigger', sa.Enum('command', 'scheduler', name='retention_trigger', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.Column('cutoff', sa.DateTime(timezone=True), nullable=False),
    sa.Column('waves_deleted', sa.Integer(), nullable=False),
    sa.Column('waves_kept', sa.Integer(), nullable=False),
    sa.Column('waves_failed', sa.Integer(), nullable=False),
    sa.CheckConstraint('retention_days >= 1', name=op.f('ck_retention_run_days_positive')),
    sa.CheckConstraint('waves_deleted >= 0 AND waves_kept >= 0 AND waves_failed >= 0', name=op.f('ck_retention_run_counts_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_run'))
    )
    with op.batch_alter_table('retention_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retention_run_started_at'), ['started_at'], unique=False)

    # One row per wave whose raw answers were deleted: the unique wave_id is also what stops two
    # runs deleting the same wave at once, and what tells a recompute the answers are gone.
    op.create_table('retention_deletion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.Column('answers', sa.Integer(), nullable=False),
    sa.Column('comments', sa.Integer(), nullable=False),
    sa.Column('submissions', sa.Integer(), nullable=False),
    sa.CheckConstraint('responses >= 0 AND answers >= 0 AND comments >= 0 AND submissions >= 0', name=op.f('ck_retention_deletion_counts_positive')),
    sa.ForeignKeyConstraint(['run_id'], ['retention_run.id'], name=op.f('fk_retention_deletion_run_id_retention_run'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['wave_id'], ['wave.id'], name=op.f('fk_retention_deletion_wave_id_wave'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_deletion')),
    sa.UniqueConstraint('wave_id', name=op.f('uq_retention_deletion_wave_id'))
    )
    with op.batch_alter_table('retention_deletion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retention_deletion_run_id'), ['run_id'], unique=False)


def downgrade():
    with op.batch_alter_table('retention_deletion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retention_deletion_run_id'))

    op.drop_table('retention_deletion')
    with op.batch_alter_table('retention_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retention_run_started_at'))

    op.drop_table('retention_run')
