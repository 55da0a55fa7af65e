"""Operator accounts with roles, and the audit trail of what people changed.

``users``: a name, a salted scrypt hash, a role (admin, editor, agent, viewer), disabled or
not. The one admin login of earlier versions becomes the first admin account when the bot next
starts (``chatbot.admin.users.Users.bootstrap``: the name is a setting, so it is not known
here). ``audit``: who did what to what, with the identifiers before and after; rows are only
ever added.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ROLES = "role IN ('admin', 'editor', 'agent', 'viewer')"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("password", sa.Text, nullable=False),  # JSON: scrypt salt and hash
        sa.Column("role", sa.Text, sa.CheckConstraint(ROLES, name="users_role"), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "audit",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text),
        sa.Column("before", sa.Text),
        sa.Column("after", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_index("audit_ts", "audit", ["ts"])


def downgrade() -> None:
    op.drop_index("audit_ts", "audit")
    op.drop_table("audit")
    op.drop_table("users")
