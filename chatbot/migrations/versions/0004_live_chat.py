"""Live takeover: a person answers in the customer's chat.

``handoffs`` gains who took the conversation and when, when it ended and how (handed back to
the bot, closed), the first human reply (for the traffic charts), the e-mail address a customer
left outside business hours, and when the customer's chat last asked for news (to show a
customer who left as gone). Status: ``open`` (waiting), ``live`` (a person has it), ``closed``.
``messages``: what was said in a handed-off conversation after the handoff, in order (its id
is the cursor a chat polls with): the customer's messages, the bot's answers while it waited,
the person's replies and the notes the customer sees ("Anna from our team has joined").

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SENDERS = "sender IN ('customer', 'bot', 'agent', 'system')"


def upgrade() -> None:
    with op.batch_alter_table("handoffs") as handoffs:
        handoffs.add_column(sa.Column("agent", sa.Text))
        handoffs.add_column(sa.Column("taken_ts", sa.Float))
        handoffs.add_column(sa.Column("ended_ts", sa.Float))
        handoffs.add_column(sa.Column("outcome", sa.Text))  # handed_back | closed
        handoffs.add_column(sa.Column("first_reply_ts", sa.Float))
        handoffs.add_column(sa.Column("email", sa.Text))
        handoffs.add_column(sa.Column("customer_seen", sa.Float))
    op.create_index("handoffs_session", "handoffs", ["session_id", "status"])
    op.create_table(
        "messages",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.Text, nullable=False),
        sa.Column("handoff_id", ID, sa.ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("sender", sa.Text, sa.CheckConstraint(SENDERS, name="messages_sender"), nullable=False),
        sa.Column("author", sa.Text),  # the person's account name, for agent and system messages
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("draft", sa.Text),  # the bot's suggested answer to a customer message, for the person only
        sqlite_autoincrement=True,
    )
    op.create_index("messages_session", "messages", ["session_id", "id"])


def downgrade() -> None:
    op.drop_index("messages_session", "messages")
    op.drop_table("messages")
    op.drop_index("handoffs_session", "handoffs")
    with op.batch_alter_table("handoffs") as handoffs:
        for column in ("customer_seen", "email", "first_reply_ts", "outcome", "ended_ts", "taken_ts", "agent"):
            handoffs.drop_column(column)
