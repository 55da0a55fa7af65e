"""Opening the bot's database: SQLite by default, PostgreSQL when a URL says so, always at the
schema this code expects.

One SQL layer, two dialects: SQLAlchemy Core's engine gives both a connection pool and one
way to run parameterised SQL, and Alembic (``chatbot/migrations``) keeps the schema's version
in the database. We chose them over psycopg beside sqlite3 because Alembic needs SQLAlchemy,
and because the queries then differ between the dialects in two expressions
(:func:`day_of`) instead of two copies of every query.

:func:`open_database` migrates an older schema forward (a database written before the
migrations existed, which has tables but no version, is recognised as the first revision)
and refuses one written by newer code, whose revision this code does not know.

Limits: SQLite is for one machine (one process, or replicas sharing a local disk); replicas
on several machines need PostgreSQL. SQLite's writes take the whole-file lock (``BEGIN
IMMEDIATE``), waiting up to ``BUSY_TIMEOUT_S`` for it.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"  # the schema of every database written before migrations existed
BUSY_TIMEOUT_S = 30
POOL = (8, 8)  # PostgreSQL: connections kept per process for reads and writes, and how many more under load
TURN_POOL = (8, 16)  # PostgreSQL: connections holding a conversation's lock for its turn (at most 24 turns at once
# per process; more wait their turn); a pool of their own, so that the turns holding them can always write


class SchemaError(RuntimeError):
    """The database's schema cannot be used by this code (newer, or unknown)."""


def database_url(url_or_path: str | Path) -> str:
    """A SQLAlchemy URL: a plain path is a SQLite file; ``postgresql://`` uses psycopg 3."""
    text = str(url_or_path)
    if "://" not in text:
        return f"sqlite:///{Path(text).resolve()}"
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def create_engine(url_or_path: str | Path, pool: tuple[int, int] = POOL) -> sa.Engine:
    """An engine for the URL or SQLite path; ``pool``: (kept, overflow) connections on PostgreSQL."""
    url = database_url(url_or_path)
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, pool_size=pool[0], max_overflow=pool[1], pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # SQLAlchemy issues BEGIN itself (the "begin" listener): the driver must not open its own
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a process kill
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    # a transaction that will write takes the write lock at once, waiting for it up to the busy
    # timeout; a deferred one that reads first and writes later would fail instead of waiting
    immediate = connection.get_execution_options().get("sqlite_immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writer(engine: sa.Engine) -> sa.Engine:
    """The engine for transactions that write (on SQLite: ``BEGIN IMMEDIATE``); same pool."""
    return engine.execution_options(sqlite_immediate=True)


def open_database(url_or_path: str | Path) -> sa.Engine:
    """An engine on a database migrated to this code's newest schema (see the module docstring)."""
    engine = create_engine(url_or_path)
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: sa.Engine) -> None:
    """Upgrades the schema to the newest revision; a pre-migration database is stamped as the
    baseline first. ``SchemaError`` when the database's revision is unknown here (newer code
    wrote it): nothing is changed then."""
    script = ScriptDirectory.from_config(_config())
    with writer(engine).begin() as connection:
        if engine.dialect.name == "postgresql":  # two replicas starting at once: one migrates
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7260001)")
        context = MigrationContext.configure(connection)
        current = context.get_current_revision()
        if current is not None:
            try:
                script.get_revision(current)
            except CommandError:
                raise SchemaError(
                    f"the database is at schema revision {current!r}, which this version of the bot does not know "
                    f"(it knows up to {script.get_current_head()!r}): it was written by a newer version. Upgrade the "
                    "bot, or point it at another database; nothing was changed"
                ) from None
        config = _config(connection)
        if current is None and sa.inspect(connection).has_table("turns"):
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")


def day_of(engine: sa.Engine, column: str) -> str:
    """SQL for the UTC date (YYYY-MM-DD text) of a unix-time column, in the engine's dialect."""
    if engine.dialect.name == "postgresql":
        return f"to_char(to_timestamp({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    return f"date({column}, 'unixepoch')"
