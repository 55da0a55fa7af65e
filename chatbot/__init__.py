"""The customer-service bot: settings, the domain (intents, templates), routing of each turn."""

from chatbot.bot import Bot, Reply
from chatbot.domain import Domain, DomainError
from chatbot.sessions import Session
from chatbot.settings import Settings, SettingsError
from chatbot.startup import load_bot

__all__ = ["Bot", "Domain", "DomainError", "Reply", "Session", "Settings", "SettingsError", "load_bot"]
