"""webhooks read card events from the change feed: a cursor per endpoint

Revision ID: b41d7e2c9a10
Revises: 5ec15a7e0015
Create Date: 2026-12-02 19:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b41d7e2c9a10'
down_revision = '5ec15a7e0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'feed_cursor',
                sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                server_default='0',
                nullable=False,
            )
        )
    # Endpoints that exist already had their card events written as deliveries until now:
    # they read the feed from its head on.
    op.execute("UPDATE webhooks SET feed_cursor = (SELECT COALESCE(MAX(id), 0) FROM events)")


def downgrade():
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.drop_column('feed_cursor')
