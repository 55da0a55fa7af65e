"""The admin layer: everything an operator changes, behind one facade (``Console``).

``app.py``, the admin page and the CLI use ``Console`` and ``AdminAuth``; the parts
(``faq``, ``dialogs``, ``training``, ``jobs``, ``auth``) are importable for their own tests.
"""

from chatbot.admin.auth import AdminAuth
from chatbot.admin.console import Console
from chatbot.admin.jobs import Cancelled, Job, JobRunner
from chatbot.admin.training import REPORT_FILE, Gate, check_gate

__all__ = ["AdminAuth", "Cancelled", "Console", "Gate", "Job", "JobRunner", "REPORT_FILE", "check_gate"]
