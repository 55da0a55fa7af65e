"""Alembic's migrations of the bot's database (``chatbot.database.migrate`` runs them)."""
