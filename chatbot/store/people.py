"""Operator accounts and the audit trail as the database keeps them. What a role may do and how
passwords are checked is ``chatbot.admin.users``'s; this holds the rows. The audit trail is
only ever added to: no method here changes or deletes an entry."""

from __future__ import annotations

import time

import sqlalchemy as sa

from chatbot.store.records import Records


class PeopleRecords(Records):
    # -- users ----------------------------------------------------------------------------------
    def add_user(self, name: str, password: str, role: str) -> int:
        """A new account (``password``: the stored hash record). ``KeyError`` if the name is taken."""
        now = time.time()
        try:
            return self._insert(
                "INSERT INTO users (name, password, role, disabled, created, updated)"
                " VALUES (:name, :password, :role, :disabled, :now, :now) RETURNING id",
                name=name,
                password=password,
                role=role,
                disabled=False,
                now=now,
            )
        except sa.exc.IntegrityError:
            raise KeyError(f"a user named {name!r} already exists") from None

    def user(self, name: str) -> dict | None:
        return self._row("SELECT * FROM users WHERE name=:name", name=name)

    def users(self) -> list[dict]:
        return self._rows("SELECT id, name, role, disabled, created, updated FROM users ORDER BY name")

    def update_user(self, name: str, **fields: object) -> None:
        """Changes ``role``, ``password`` or ``disabled`` of an account; ``KeyError`` if there is none."""
        unknown = set(fields) - {"role", "password", "disabled"}
        if unknown:
            raise ValueError(f"users have no field(s) {sorted(unknown)}")
        assignments = ", ".join(f"{field}=:{field}" for field in fields)
        changed = self._write(
            f"UPDATE users SET {assignments}, updated=:now WHERE name=:name", name=name, now=time.time(), **fields
        ).rowcount
        if not changed:
            raise KeyError(f"no user named {name!r}")

    # -- audit trail ----------------------------------------------------------------------------
    def audit(
        self, actor: str, action: str, target: str | None = None, before: str | None = None, after: str | None = None
    ) -> int:
        """Records a change made by a person (``actor``: a user name, or ``cli:<user>`` from the terminal)."""
        return self._insert(
            "INSERT INTO audit (ts, actor, action, target, before, after)"
            " VALUES (:ts, :actor, :action, :target, :before, :after) RETURNING id",
            ts=time.time(),
            actor=actor,
            action=action,
            target=target,
            before=before,
            after=after,
        )

    def audit_log(self, limit: int | None = 500) -> list[dict]:
        """The trail, newest first (all of it with ``limit=None``)."""
        if limit is None:
            return self._rows("SELECT * FROM audit ORDER BY id DESC")
        return self._rows("SELECT * FROM audit ORDER BY id DESC LIMIT :limit", limit=limit)
