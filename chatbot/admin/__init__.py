"""The admin layer: everything an operator changes, behind one facade (``Console``).

``app.py``, the admin page and the CLI use ``Console``, ``AdminAuth`` and ``Users``; the parts
(``faq``, ``dialogs``, ``training`` with its ``report``, ``jobs``, ``auth``, ``users``) are importable for their
own tests.
"""

from chatbot.admin.auth import AdminAuth
from chatbot.admin.console import Console
from chatbot.admin.jobs import Cancelled, Job, JobRunner
from chatbot.admin.report import REPORT_FILE, Gate, RetrainReport, check_gate
from chatbot.admin.users import ROLE_PERMISSIONS, ROLES, User, Users

__all__ = [
    "AdminAuth",
    "Cancelled",
    "Console",
    "Gate",
    "Job",
    "JobRunner",
    "REPORT_FILE",
    "ROLES",
    "ROLE_PERMISSIONS",
    "RetrainReport",
    "User",
    "Users",
    "check_gate",
]
