"""The accounts tab (admins): operator accounts, their roles, new ones, a role changed, an account
disabled or enabled, a password reset. A generated password is shown once, here, and never
stored in clear; every change is in the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from chatbot.admin import ROLES, Console
from chatbot.console_page.common import PRIVATE, Tab
from chatbot.i18n import translator


@dataclass
class AccountsHandlers:
    console: Console

    def __post_init__(self):
        self.t = translator(self.console.settings.language)

    def table(self):
        t = self.t
        columns = [t("user"), t("role"), t("status")]
        rows = [
            dict(zip(columns, (u.name, u.role, t("disabled") if u.disabled else t("active")), strict=True))
            for u in self.console.accounts()
        ]
        return pd.DataFrame(rows or [dict.fromkeys(columns, "")])

    def _do(self, change, done, name: str, *args):
        """Runs one change; a refused one (unknown name, last admin, bad name) says why and changes nothing."""
        t = self.t
        if not name:
            return t("Enter a user name first."), self.table()
        try:
            result = change(name.strip(), *args)
        except (KeyError, ValueError) as exc:
            return t("**Not changed.** {reason}", reason=exc.args[0] if exc.args else exc), self.table()
        return done(name.strip(), result), self.table()

    def add(self, name: str, role: str):
        t = self.t

        def done(name, password):
            return t(
                "**{name}** can sign in now with the password `{password}` (shown once: pass it on).",
                name=name,
                password=password,
            )

        return self._do(self.console.add_account, done, name, role)

    def set_role(self, name: str, role: str):
        t = self.t
        return self._do(self.console.set_role, lambda n, _: t("**{name}** has the new role.", name=n), name, role)

    def disable(self, name: str):
        t = self.t
        return self._do(self.console.set_disabled, lambda n, _: t("**{name}** is disabled.", name=n), name, True)

    def enable(self, name: str):
        t = self.t
        return self._do(self.console.set_disabled, lambda n, _: t("**{name}** can sign in again.", name=n), name, False)

    def reset(self, name: str):
        t = self.t

        def done(name, password):
            return t("**{name}**'s new password: `{password}` (shown once).", name=name, password=password)

        return self._do(self.console.reset_password, done, name)


def accounts_tab(console: Console) -> Tab:
    t = translator(console.settings.language)
    handlers = AccountsHandlers(console)
    with gr.Tab(t("Accounts"), id="accounts"):
        gr.Markdown(
            t(
                "Roles: admin (everything), editor (FAQ, training, versions, review), agent (live chats, review),"
                " viewer (traffic). Passwords are generated and shown once."
            )
        )
        table = gr.Dataframe(label=t("accounts"), interactive=False)
        with gr.Row():
            name = gr.Textbox(label=t("user"), max_lines=1)
            role = gr.Dropdown(list(ROLES), value="agent", label=t("role"))
        with gr.Row():
            add = gr.Button(t("Add account"), variant="primary")
            set_role = gr.Button(t("Set role"))
            disable = gr.Button(t("Disable"))
            enable = gr.Button(t("Enable"))
            reset = gr.Button(t("Reset password"))
        note = gr.Markdown()
        add.click(handlers.add, [name, role], [note, table], **PRIVATE)
        set_role.click(handlers.set_role, [name, role], [note, table], **PRIVATE)
        disable.click(handlers.disable, name, [note, table], **PRIVATE)
        enable.click(handlers.enable, name, [note, table], **PRIVATE)
        reset.click(handlers.reset, name, [note, table], **PRIVATE)
    return Tab([table], lambda: (handlers.table(),))
