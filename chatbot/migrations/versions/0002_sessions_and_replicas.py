"""Conversations outside process memory, and jobs that know their replica.

``sessions``: each conversation's state (``chatbot.sessions``), so any replica can answer any
turn and a restart continues where it was; ``updated`` for expiry. ``jobs`` gains the replica
that runs a job and the time it last reported, and a unique index that lets one job run at a
time across every replica sharing the database. Jobs still marked running when this runs were
interrupted (the code before it marked them so at every start).

Revision ID: 0002
Revises: 0001
"""

import time

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),  # JSON
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_index("sessions_updated", "sessions", ["updated"])
    with op.batch_alter_table("jobs") as jobs:
        jobs.add_column(sa.Column("replica", sa.Text))
        jobs.add_column(sa.Column("updated", sa.Float))
    op.execute(
        sa.text(
            "UPDATE jobs SET status='failed', finished=:now, message='interrupted: the process stopped during the job'"
            " WHERE status='running'"
        ).bindparams(now=time.time())
    )
    running = sa.text("status = 'running'")
    op.create_index("jobs_one_running", "jobs", ["status"], unique=True, sqlite_where=running, postgresql_where=running)


def downgrade() -> None:
    op.drop_index("jobs_one_running", "jobs")
    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_column("updated")
        jobs.drop_column("replica")
    op.drop_index("sessions_updated", "sessions")
    op.drop_table("sessions")
