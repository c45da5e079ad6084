"""practice indicators by month, and practices self-assessments

Revision ID: 0005_practices
Revises: 0004_release_cell_reading
Create Date: 2026-12-10

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_practices'
down_revision = '0004_release_cell_reading'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('practice_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('caseload', sa.Float(), nullable=True),
    sa.Column('staff_per_supervisor', sa.Float(), nullable=True),
    sa.Column('reflective_supervision', sa.Float(), nullable=True),
    sa.Column('turnover', sa.Float(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('caseload IS NULL OR (caseload >= 0 AND caseload <= 200)', name=op.f('ck_practice_record_caseload_range')),
    sa.CheckConstraint('staff_per_supervisor IS NULL OR (staff_per_supervisor >= 0 AND staff_per_supervisor <= 100)', name=op.f('ck_practice_record_staff_per_supervisor_range')),
    sa.CheckConstraint('reflective_supervision IS NULL OR (reflective_supervision >= 0 AND reflective_supervision <= 100)', name=op.f('ck_practice_record_reflective_supervision_range')),
    sa.CheckConstraint('turnover IS NULL OR (turnover >= 0 AND turnover <= 400)', name=op.f('ck_practice_record_turnover_range')),
    sa.CheckConstraint('caseload IS NOT NULL OR staff_per_supervisor IS NOT NULL OR reflective_supervision IS NOT NULL OR turnover IS NOT NULL', name=op.f('ck_practice_record_some_value')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_practice_record_recorded_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_practice_record_unit_id_unit'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practice_record')),
    sa.UniqueConstraint('unit_id', 'month', name=op.f('uq_practice_record_unit_id_month'))
    )
    op.create_table('practice_assessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('assessed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessed_by_id'], ['user_account.id'], name=op.f('fk_practice_assessment_assessed_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_practice_assessment_unit_id_unit'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practice_assessment'))
    )
    with op.batch_alter_table('practice_assessment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_practice_assessment_unit_id'), ['unit_id'], unique=False)

    op.create_table('practice_rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('rating', sa.Enum('not_yet', 'partly', 'in_place', name='rating', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=False),
    sa.CheckConstraint("item_id <> ''", name=op.f('ck_practice_rating_item_id_not_empty')),
    sa.CheckConstraint('length(note) <= 1000', name=op.f('ck_practice_rating_note_length')),
    sa.ForeignKeyConstraint(['assessment_id'], ['practice_assessment.id'], name=op.f('fk_practice_rating_assessment_id_practice_assessment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practice_rating')),
    sa.UniqueConstraint('assessment_id', 'item_id', name=op.f('uq_practice_rating_assessment_id_item_id'))
    )


def downgrade():
    op.drop_table('practice_rating')
    with op.batch_alter_table('practice_assessment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practice_assessment_unit_id'))

    op.drop_table('practice_assessment')
    op.drop_table('practice_record')
