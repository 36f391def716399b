"""Catalog and stock: product details, variant attributes, locations, inventory levels.

Columns added to existing tables get server defaults so ledgers with rows upgrade cleanly.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 23:30:28.483388
"""

from alembic import op
import sqlalchemy as sa
import ledger.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('locations',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('integration_id', sa.String(length=64), nullable=True),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('created_at', ledger.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ledger.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_locations_integration_id_integrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_locations')),
    sa.UniqueConstraint('integration_id', 'external_id', name=op.f('uq_locations_integration_id_external_id'))
    )
    op.create_table('inventory_levels',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('variant_id', sa.String(length=64), nullable=False),
    sa.Column('location_id', sa.String(length=64), nullable=False),
    sa.Column('available', sa.Integer(), nullable=False),
    sa.Column('source_updated_at', ledger.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', ledger.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_inventory_levels_location_id_locations')),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_inventory_levels_variant_id_product_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_levels')),
    sa.UniqueConstraint('variant_id', 'location_id', name=op.f('uq_inventory_levels_variant_id_location_id'))
    )
    with op.batch_alter_table('inventory_levels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inventory_levels_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inventory_levels_variant_id'), ['variant_id'], unique=False)

    with op.batch_alter_table('product_variants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('compare_at_price_minor', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('barcode', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('weight', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('weight_unit', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('inventory_item_external_id', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('position', sa.Integer(), nullable=False, server_default=sa.text('1')))
        batch_op.add_column(sa.Column('is_active', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.create_index(batch_op.f('ix_product_variants_inventory_item_external_id'), ['inventory_item_external_id'], unique=False)

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handle', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('vendor', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('product_type', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('published', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('source_updated_at', ledger.models.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('source_updated_at')
        batch_op.drop_column('published')
        batch_op.drop_column('product_type')
        batch_op.drop_column('vendor')
        batch_op.drop_column('handle')

    with op.batch_alter_table('product_variants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_variants_inventory_item_external_id'))
        batch_op.drop_column('is_active')
        batch_op.drop_column('position')
        batch_op.drop_column('inventory_item_external_id')
        batch_op.drop_column('weight_unit')
        batch_op.drop_column('weight')
        batch_op.drop_column('barcode')
        batch_op.drop_column('compare_at_price_minor')

    with op.batch_alter_table('inventory_levels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inventory_levels_variant_id'))
        batch_op.drop_index(batch_op.f('ix_inventory_levels_location_id'))

    op.drop_table('inventory_levels')
    op.drop_table('locations')
