"""Migrations from accounting systems: migrated accounts (linked to the standard account they
correspond to), contact details on customers (suppliers too), source transactions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 01:54:08.308744
"""

from alembic import op
import sqlalchemy as sa
import ledger.models
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('source_transactions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('integration_id', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('txn_type', sa.String(length=40), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=True),
    sa.Column('txn_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('contact_id', sa.String(length=64), nullable=True),
    sa.Column('memo', sa.Text(), nullable=True),
    sa.Column('source_updated_at', ledger.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', ledger.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ledger.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['customers.id'], name=op.f('fk_source_transactions_contact_id_customers')),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_source_transactions_integration_id_integrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_transactions')),
    sa.UniqueConstraint('integration_id', 'external_id', name=op.f('uq_source_transactions_integration_id_external_id'))
    )
    with op.batch_alter_table('source_transactions', schema=None) as batch_op:
        batch_op.create_index('ix_source_transactions_integration_date', ['integration_id', 'txn_date'], unique=False)

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('integration_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('external_id', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('source_code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('full_name', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('source_type', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('source_subtype', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('parent_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('standard_account_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('mapping_note', sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_accounts_integration_id_external_id'), ['integration_id', 'external_id'])
        batch_op.create_foreign_key(batch_op.f('fk_accounts_integration_id_integrations'), 'integrations', ['integration_id'], ['id'])

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company_name', sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('billing_address', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('shipping_address', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('payment_terms', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('balance_minor', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('is_customer', sa.Boolean(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('is_supplier', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('is_active', sa.Boolean(), server_default='1', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('is_active')
        batch_op.drop_column('is_supplier')
        batch_op.drop_column('is_customer')
        batch_op.drop_column('balance_minor')
        batch_op.drop_column('currency')
        batch_op.drop_column('payment_terms')
        batch_op.drop_column('shipping_address')
        batch_op.drop_column('billing_address')
        batch_op.drop_column('phone')
        batch_op.drop_column('company_name')

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_accounts_integration_id_integrations'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_accounts_integration_id_external_id'), type_='unique')
        batch_op.drop_column('mapping_note')
        batch_op.drop_column('standard_account_id')
        batch_op.drop_column('parent_id')
        batch_op.drop_column('source_subtype')
        batch_op.drop_column('source_type')
        batch_op.drop_column('full_name')
        batch_op.drop_column('source_code')
        batch_op.drop_column('external_id')
        batch_op.drop_column('integration_id')

    with op.batch_alter_table('source_transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_source_transactions_integration_date')

    op.drop_table('source_transactions')
