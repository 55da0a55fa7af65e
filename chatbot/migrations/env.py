"""Alembic's entry point: run on the connection ``chatbot.database`` hands over (no ini file,
no URL here: the bot's settings say which database)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
