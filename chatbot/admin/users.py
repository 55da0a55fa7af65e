"""Operator accounts: who may sign in to the console, with which role, and what each role may do.

Roles (``ROLE_PERMISSIONS``): *admin* everything, users and the audit trail included; *editor*
the FAQ, training, versions and the review queue; *agent* the live queue (handoffs: taking
them, answering the customer) and the review queue; *viewer* traffic and reports. A role is read from the database at each check, so
a changed role or a disabled account takes effect at its next action. Passwords are stored only
as salted scrypt hashes; repeated failures lock a name, and an address, for a while.

Every change to an account is written to the audit trail with who made it. The last enabled
admin can be neither disabled nor demoted: no one could then manage accounts.

Limits: the lockouts are counted per process (a replica), like the login they protect.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal, get_args

from chatbot.store import Store

Role = Literal["admin", "editor", "agent", "viewer"]
Permission = Literal["users", "audit", "faq", "training", "versions", "review", "live", "traffic"]
ROLES: tuple[Role, ...] = get_args(Role)
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    "admin": frozenset(get_args(Permission)),
    "editor": frozenset({"faq", "training", "versions", "review"}),
    "agent": frozenset({"live", "review"}),
    "viewer": frozenset({"traffic"}),
}
LEGACY_PASSWORD_KEY = "admin_password_scrypt"  # where versions before accounts kept the one admin password
MIN_PASSWORD = 8
NAME = re.compile(r"[\w.@+-]{1,64}")


def hash_password(password: str, salt: bytes | None = None) -> str:
    """The stored record of a password: a random salt and its scrypt hash, as JSON."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1).hex()
    return json.dumps({"salt": salt.hex(), "hash": digest})


def password_matches(password: str, record: str) -> bool:
    stored = json.loads(record)
    again = json.loads(hash_password(password, bytes.fromhex(stored["salt"])))["hash"]
    return hmac.compare_digest(again, stored["hash"])


ACTOR: ContextVar[str] = ContextVar("actor", default="unknown")
"""Who is acting, for the audit trail: the console sets the signed-in user around each action
(``acting_as``), the CLI ``cli:<login>``."""


@contextlib.contextmanager
def acting_as(name: str) -> Iterator[None]:
    token = ACTOR.set(name)
    try:
        yield
    finally:
        ACTOR.reset(token)


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    disabled: bool


class Lockout:
    """Failed sign-ins counted per key (a name, an address): ``max_failures`` within
    ``seconds`` lock the key until the oldest of them is that old."""

    def __init__(self, max_failures: int = 5, seconds: float = 300.0):
        self.max_failures, self.seconds = max_failures, seconds
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def locked(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < self.seconds]
            self._failures[key] = recent
            return len(recent) >= self.max_failures

    def failed(self, key: str) -> None:
        with self._lock:
            self._failures.setdefault(key, []).append(time.monotonic())


class Users:
    """The accounts of a store, and the checks that use them."""

    def __init__(self, store: Store):
        self.store = store
        self.lockout = Lockout()

    @property
    def max_failures(self) -> int:
        return self.lockout.max_failures

    # -- accounts -------------------------------------------------------------------------------
    def bootstrap(self, name: str, password: str | None, announce: Callable[[str], None] = print) -> None:
        """The first admin. With ``password`` (the ``admin_password`` setting) the account
        ``name`` is an enabled admin with that password at every start. Without, when no
        enabled admin exists, the one admin password of earlier versions is carried over, or
        ``name`` gets a generated one, shown once (``announce``) and never stored in clear."""
        existing = self.store.user(name)
        try:
            generated = self._first_admin(name, password, existing)
        except KeyError:  # another replica starting at the same moment created it first
            return self.bootstrap(name, password, announce) if password else None
        if generated is None:
            return
        announce(
            f"\n  Admin console: user '{name}', generated password: {generated}\n"
            "  (shown once; stored hashed. Set CHATBOT_ADMIN_PASSWORD to choose your own.)\n"
        )

    def _first_admin(self, name: str, password: str | None, existing: dict | None) -> str | None:
        """``bootstrap``'s changes; returns a generated password to show, else None."""
        if password:
            if existing is None:
                self.store.add_user(name, hash_password(password), "admin")
                self.store.audit("settings", "user.create", name, None, "admin")
            elif (
                existing["role"] != "admin"
                or existing["disabled"]
                or not password_matches(password, existing["password"])
            ):
                self.store.update_user(name, password=hash_password(password), role="admin", disabled=False)
                self.store.audit("settings", "user.reset", name, existing["role"], "admin")
            return None
        if any(user.role == "admin" and not user.disabled for user in self.list()):
            return None
        legacy = self.store.get(LEGACY_PASSWORD_KEY)
        if legacy is not None and existing is None:
            self.store.add_user(name, legacy, "admin")
            self.store.audit("upgrade", "user.create", name, None, "admin")
            return None
        if existing is None:
            return self.add(name, "admin", actor="first start")
        # accounts, but no enabled admin: this one becomes it, with a new password
        generated = self.reset_password(name, actor="start without an admin")
        self.store.update_user(name, role="admin", disabled=False)
        self.store.audit("start without an admin", "user.role", name, existing["role"], "admin")
        return generated

    def add(self, name: str, role: str, actor: str, password: str | None = None) -> str:
        """Creates an account; returns its password (generated when none is given, to show once)."""
        if not NAME.fullmatch(name):
            raise ValueError(f"a user name is 1-64 letters, digits or . @ + - _, not {name!r}")
        role = _role(role)
        password = password or secrets.token_urlsafe(12)
        _check_password(password)
        self.store.add_user(name, hash_password(password), role)
        self.store.audit(actor, "user.create", name, None, role)
        return password

    def list(self) -> list[User]:
        return [User(row["name"], row["role"], bool(row["disabled"])) for row in self.store.users()]

    def set_role(self, name: str, role: str, actor: str) -> None:
        role = _role(role)
        before = self._existing(name)
        if before["role"] == "admin" and role != "admin":
            self._keep_an_admin(name)
        self.store.update_user(name, role=role)
        self.store.audit(actor, "user.role", name, before["role"], role)

    def disable(self, name: str, actor: str) -> None:
        before = self._existing(name)
        if before["role"] == "admin":
            self._keep_an_admin(name)
        self.store.update_user(name, disabled=True)
        self.store.audit(actor, "user.disable", name, "enabled" if not before["disabled"] else "disabled", "disabled")

    def enable(self, name: str, actor: str) -> None:
        before = self._existing(name)
        self.store.update_user(name, disabled=False)
        self.store.audit(actor, "user.enable", name, "disabled" if before["disabled"] else "enabled", "enabled")

    def reset_password(self, name: str, actor: str, password: str | None = None) -> str:
        """Sets a new password (generated when none is given); returns it, to show once."""
        self._existing(name)
        password = password or secrets.token_urlsafe(12)
        _check_password(password)
        self.store.update_user(name, password=hash_password(password))
        self.store.audit(actor, "user.password", name)
        return password

    def _existing(self, name: str) -> dict:
        row = self.store.user(name)
        if row is None:
            raise KeyError(f"no user named {name!r}")
        return row

    def _keep_an_admin(self, name: str) -> None:
        admins = [u for u in self.list() if u.role == "admin" and not u.disabled and u.name != name]
        if not admins:
            raise ValueError(f"{name!r} is the last enabled admin: make another user admin first")

    # -- checks ---------------------------------------------------------------------------------
    def role_of(self, name: str | None) -> Role | None:
        """The role of an enabled account, read now; None for an unknown or disabled one."""
        row = self.store.user(name) if name else None
        return None if row is None or row["disabled"] else row["role"]

    def may(self, name: str | None, permission: Permission) -> bool:
        role = self.role_of(name)
        return role is not None and permission in ROLE_PERMISSIONS[role]

    def verify(self, name: str, password: str, address: str | None = None) -> bool:
        """Whether the name and password sign in: an enabled account, the right password, and
        neither the name nor the address locked by ``max_failures`` recent failures."""
        keys = [f"user:{name}"] + ([f"address:{address}"] if address else [])
        if any(self.lockout.locked(key) for key in keys):
            return False
        row = self.store.user(name)
        # a hash is computed for unknown names too, so that timing does not tell which names exist
        matches = password_matches(password, row["password"] if row else _NOBODY)
        ok = matches and row is not None and not row["disabled"]
        if not ok:
            for key in keys:
                self.lockout.failed(key)
        return ok


_NOBODY = hash_password(secrets.token_urlsafe(16))  # what an unknown name's password is checked against


def _role(role: str) -> Role:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password has at least {MIN_PASSWORD} characters")
