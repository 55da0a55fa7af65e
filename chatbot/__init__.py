"""The customer-service bot: settings, the domain (intents, templates), routing of each turn."""

from chatbot.bot import Bot, Reply, Session
from chatbot.domain import Domain, DomainError
from chatbot.settings import Settings, SettingsError

__all__ = ["Bot", "Domain", "DomainError", "Reply", "Session", "Settings", "SettingsError"]
