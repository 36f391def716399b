"""Custom connector definitions, one row per version.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 02:36:42.563420
"""

from alembic import op
import sqlalchemy as sa
import ledger.models
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('custom_connectors',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('definition', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', ledger.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', ledger.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', 'version', name=op.f('pk_custom_connectors'))
    )


def downgrade() -> None:
    op.drop_table('custom_connectors')
