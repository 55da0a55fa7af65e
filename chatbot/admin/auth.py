"""The admin console's login: one operator account, its password never stored in clear."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable

from chatbot.store import Store

PASSWORD_KEY = "admin_password_scrypt"


def _hash(password: str, salt: bytes) -> str:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1).hex()


class AdminAuth:
    """The console's login. The password comes from settings/environment, or is generated at
    first start, printed once and stored only as a salted scrypt hash. Never a default.
    Repeated failures lock the login for a while (per user name)."""

    def __init__(self, store: Store, user: str, password: str | None, announce: Callable[[str], None] = print):
        self.user = user
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        if password:
            salt = secrets.token_bytes(16)
            self._salt, self._hash = salt, _hash(password, salt)
            return
        stored = store.get(PASSWORD_KEY)
        if stored is None:
            password = secrets.token_urlsafe(12)
            salt = secrets.token_bytes(16)
            store.put(PASSWORD_KEY, json.dumps({"salt": salt.hex(), "hash": _hash(password, salt)}))
            announce(
                f"\n  Admin console: user '{user}', generated password: {password}\n"
                "  (shown once; stored hashed. Set CHATBOT_ADMIN_PASSWORD to choose your own.)\n"
            )
            stored = store.get(PASSWORD_KEY)
        record = json.loads(stored)
        self._salt, self._hash = bytes.fromhex(record["salt"]), record["hash"]

    max_failures = 5
    lockout_seconds = 300.0

    def locked(self, user: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(user, []) if now - t < self.lockout_seconds]
            self._failures[user] = recent
            return len(recent) >= self.max_failures

    def __call__(self, user: str, password: str) -> bool:
        if self.locked(user):
            return False
        ok = hmac.compare_digest(user.encode(), self.user.encode()) & hmac.compare_digest(
            _hash(password, self._salt), self._hash
        )
        if not ok:
            with self._lock:
                self._failures.setdefault(user, []).append(time.monotonic())
        return ok
