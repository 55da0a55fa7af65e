"""The admin console's login (Gradio's ``auth`` callback), on the operator accounts of
``chatbot.admin.users``: the first admin comes from the settings, or is generated at first
start and printed once; passwords are never stored in clear; repeated failures lock a name."""

from __future__ import annotations

from collections.abc import Callable

from chatbot.admin.users import Users
from chatbot.store import Store


class AdminAuth:
    """``auth(user, password) -> bool`` for ``gr.mount_gradio_app``, after making sure the
    first admin ``user`` exists (``Users.bootstrap``). Every enabled account signs in; what it
    may see and do there is its role's (``chatbot.console_page`` checks at each action)."""

    def __init__(self, store: Store, user: str, password: str | None, announce: Callable[[str], None] = print):
        self.users = Users(store)
        self.users.bootstrap(user, password, announce)

    @property
    def max_failures(self) -> int:
        return self.users.max_failures

    def __call__(self, user: str, password: str) -> bool:
        return self.users.verify(user, password)
