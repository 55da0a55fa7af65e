"""The schema every database had before migrations existed (turns, feedback, handoffs, reviews,
examples, jobs, kv). A database written then has these tables and no version: it is stamped
with this revision, not rebuilt.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# 64-bit ids on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the row id
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.Float()  # unix time: double precision on PostgreSQL, REAL on SQLite


def _id() -> sa.Column:
    return sa.Column("id", ID, primary_key=True, autoincrement=True)


def upgrade() -> None:
    """The seven tables one after the other (about 75 lines): a migration reads as the schema it
    creates, as Alembic's are written; split, it would hide the order of the foreign keys."""
    op.create_table(
        "turns",
        _id(),
        sa.Column("session_id", sa.Text, nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("user_text", sa.Text, nullable=False),
        sa.Column("reply", sa.Text, nullable=False),
        sa.Column("route", sa.Text, nullable=False),
        sa.Column("intent", sa.Text),
        sa.Column("confidence", TS),
        sa.Column("faq_id", sa.Text),
        sa.Column("model_version", sa.Text),
        sa.Column("trace", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_index("turns_session", "turns", ["session_id", "id"])
    op.create_index("turns_ts", "turns", ["ts"])
    op.create_table(
        "feedback",
        sa.Column("turn_id", ID, sa.ForeignKey("turns.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
        sa.Column("rating", sa.Integer, sa.CheckConstraint("rating IN (-1, 1)"), nullable=False),
        sa.Column("ts", TS, nullable=False),
    )
    op.create_table(
        "handoffs",
        _id(),
        sa.Column("session_id", sa.Text, nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("intent", sa.Text),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("transcript", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "reviews",
        _id(),
        sa.Column("source", sa.Text, nullable=False),  # low_confidence | thumbs_down | import
        sa.Column("turn_id", ID, sa.ForeignKey("turns.id", ondelete="CASCADE")),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("suggested_intent", sa.Text),
        sa.Column("suggested_faq", sa.Text),
        sa.Column("confidence", TS),
        sa.Column("ts", TS, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),  # open | labelled | dismissed
        sa.Column("label_kind", sa.Text),  # intent | faq
        sa.Column("label", sa.Text),
        sqlite_autoincrement=True,
    )
    where = sa.text("turn_id IS NOT NULL")
    op.create_index("reviews_turn", "reviews", ["turn_id"], unique=True, sqlite_where=where, postgresql_where=where)
    op.create_table(
        "examples",
        _id(),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("intent", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.UniqueConstraint("text", "intent"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "jobs",
        _id(),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),  # running | done | failed | cancelled
        sa.Column("started", TS, nullable=False),
        sa.Column("finished", TS),
        sa.Column("progress", TS, nullable=False, server_default="0"),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("result", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_table("kv", sa.Column("key", sa.Text, primary_key=True), sa.Column("value", sa.Text, nullable=False))


def downgrade() -> None:
    for table in ("kv", "jobs", "examples", "reviews", "handoffs", "feedback", "turns"):
        op.drop_table(table)
