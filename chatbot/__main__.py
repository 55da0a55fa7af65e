"""Terminal chat with the bot: ``python -m chatbot [--trace]``; operator commands:
``python -m chatbot admin faq-apply|adapt-embedder|embedders|use-embedder|docs-add|docs-list|docs-remove|import-dialogs|retrain|versions|activate|themes|jobs``,
and for accounts and the audit trail ``python -m chatbot admin users ...|audit`` (``chatbot.admin.accounts_cli``).

Trains the default model on first use (with a progress bar), like ``python app.py``.
The admin commands call the same ``Console`` methods as the console page and print one JSON
object as their last line. They change the data folder; a server running on it serves what
they activate within ``follow_disk_seconds`` (2 s), without a restart.
"""

from __future__ import annotations

import argparse
import json
import sys

from chatbot import Settings, load_bot
from finetune import Overlap


def admin(argv: list[str]) -> int:
    """``python -m chatbot admin ...``: the operator console's actions from the terminal."""
    args = _admin_parser().parse_args(argv)

    from retrieval import preview_faq

    settings = Settings.load(args.config)
    if args.command in ("users", "audit"):  # the database only: no model is loaded
        from chatbot.admin.accounts_cli import run_account_command
        from chatbot.store import Store

        return run_account_command(args, Store(settings.database, replica=settings.replica))
    if args.command == "faq-apply" and args.preview:
        preview = preview_faq(args.file, limit=10, max_bytes=settings.max_upload_mb * 2**20)
        print(preview.summary())
        for error in preview.errors[:50]:
            print(f"  {error}")
        print(json.dumps({"ok": preview.ok, "entries": preview.total, "errors": len(preview.errors)}))
        return 0 if preview.ok else 2

    import getpass

    from chatbot.admin import Console
    from chatbot.admin.users import acting_as

    bot = load_bot(settings)
    with acting_as(f"cli:{getpass.getuser()}"):  # who the audit trail names
        return _run_admin(args, Console(bot, bot.store), settings)


def _admin_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chatbot admin", description="Operator commands: what the /admin console does."
    )
    parser.add_argument("--config", default=None, help="a chatbot.toml settings file")
    commands = parser.add_subparsers(dest="command", required=True)
    p_faq = commands.add_parser("faq-apply", help="validate, index and serve an FAQ file")
    p_faq.add_argument("file")
    p_faq.add_argument("--preview", action="store_true", help="only check it and show the first rows")
    p_faq.add_argument("--no-adapt", action="store_true", help="do not adapt the embedder to it afterwards")
    commands.add_parser("adapt-embedder", help="adapt the embedder to the served FAQ; gate; serve if better")
    commands.add_parser("embedders", help="the FAQ-adapted embedders and their held-out figures")
    p_use = commands.add_parser("use-embedder", help="serve the FAQ with an adapted embedder, or 'base'")
    p_use.add_argument("name")
    p_docs = commands.add_parser("docs-add", help="import help-centre documents (PDF, DOCX, HTML, Markdown, text)")
    p_docs.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER")
    p_docs.add_argument("--url", default="", help="the address of the (one) document, linked under its answers")
    commands.add_parser("docs-list", help="the imported documents")
    p_docs_rm = commands.add_parser("docs-remove", help="stop answering from documents")
    p_docs_rm.add_argument("ids", nargs="+", metavar="ID")
    p_dialogs = commands.add_parser("import-dialogs", help="labelled turns -> training data, others -> review")
    p_dialogs.add_argument("file")
    p_retrain = commands.add_parser("retrain", help="retrain (warm start), evaluate, gate, activate")
    p_retrain.add_argument("--force", action="store_true", help="activate even if the gate refuses it")
    commands.add_parser("versions", help="the model versions and their held-out reports")
    p_activate = commands.add_parser("activate", help="serve a version (roll back or forward)")
    p_activate.add_argument("name")
    p_themes = commands.add_parser("themes", help="what the bot fails on, grouped by meaning")
    p_themes.add_argument("--top", type=int, default=10)
    commands.add_parser("jobs", help="the recent background jobs")
    from chatbot.admin.accounts_cli import add_account_commands

    add_account_commands(commands)
    return parser


def _run_admin(args: argparse.Namespace, console, settings: Settings) -> int:
    """One admin command on an opened console; prints its result, returns the exit code."""
    from finetune import DataError
    from retrieval import FaqError
    from retrieval.documents import Cancelled, DocumentError

    try:
        if args.command == "faq-apply":
            print(f"Validating and indexing {args.file}", flush=True)
            result = console.apply_faq(args.file, adapt=False, show_progress=True)  # adapted below, in the foreground
            adapt = settings.adapt_embedder and not args.no_adapt
            result["adaptation"] = "next, in the foreground" if adapt else "off"
            print(json.dumps(result, default=str))
            return _follow(console.start_adapt(), "Adapting the embedder") if adapt else 0
        elif args.command == "adapt-embedder":
            return _follow(console.start_adapt(), "Adapting the embedder")
        elif args.command == "embedders":
            result = console.embedder_versions()
            for row in result:
                mark = "*" if row["serving"] else " "
                print(
                    f"{mark} {row['name']:24} {row['entries']:5d} entries  held-out hit@1"
                    f" base {_pct(row['base_hit_at_1'])} adapted {_pct(row['adapted_hit_at_1'])}"
                )
        elif args.command == "use-embedder":
            console.use_embedder(None if args.name == "base" else args.name)
            result = {"faq_embedder": args.name}
        elif args.command == "docs-add":
            result = _add_documents(console, args.paths, args.url)
        elif args.command == "docs-list":
            result = console.documents()
            for row in result:
                print(f"{row['id']:32} {row['passages']:5d} passages  {row['title']}  ({row['source']})")
        elif args.command == "docs-remove":
            result = {"removed": console.remove_documents(args.ids)}
        elif args.command == "import-dialogs":
            result = console.import_dialogs(args.file)
        elif args.command == "retrain":
            return _follow(console.start_retrain(force=args.force), "Retraining")
        elif args.command == "versions":
            result = console.versions()
            for row in result:
                mark = "*" if row["current"] else " "
                print(
                    f"{mark} {row['name']:24} {row['intents']:4d} intents  validation {_pct(row['val_accuracy'])}"
                    f"  held-out {_pct(row['test_accuracy'])}  old {_pct(row['old_intents_accuracy'])}"
                    f"  new {_pct(row['new_intents_accuracy'])}  {row['gate'] or ''}"
                )
        elif args.command == "activate":
            console.activate(args.name)
            result = {"serving": args.name}
        elif args.command == "themes":
            result = console.themes(top=args.top)
            for theme in result:
                print(f"{theme['theme']:3d}. {theme['count']:4d} turns  {theme['question']}")
                for example in theme["examples"][1:4]:
                    print(f"            {example}")
        else:
            result = console.job_history()
            for job in result:
                print(f"{job['id']:4d} {job['kind']:8} {job['status']:9} {job['progress']:5.0%}  {job['message']}")
    except Cancelled:
        print("cancelled: nothing imported", file=sys.stderr)
        return 1
    except (FaqError, DataError, DocumentError, KeyError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, default=str))
    return 0


def _add_documents(console, paths: list[str], url: str) -> dict:
    """Imports documents with a progress bar; Ctrl-C cancels (nothing is imported then)."""
    from tqdm.auto import tqdm

    from retrieval.documents import Cancelled

    with tqdm(total=100, desc="Reading documents", unit="%", bar_format="{l_bar}{bar}| {n:.0f}% {postfix}") as bar:

        def progress(fraction: float, message: str) -> None:
            bar.n = round(100 * fraction)
            bar.set_postfix_str(message[:60])

        try:
            return console.add_documents(paths, show_progress=True, progress=progress, url=url)
        except KeyboardInterrupt:  # nothing is saved before every file is read and indexed
            raise Cancelled from None


def _pct(value: float | None) -> str:
    return "  n/a " if value is None else f"{100 * value:5.1f}%"


def _follow(job, description: str) -> int:
    """Shows a background job's progress until it ends; Ctrl-C cancels it."""
    import time

    from tqdm.auto import tqdm

    with tqdm(total=100, desc=description, unit="%", bar_format="{l_bar}{bar}| {n:.0f}% {postfix}") as bar:
        try:
            while job.status == "running":
                bar.n = round(100 * job.progress)
                bar.set_postfix_str(job.message[:60])
                time.sleep(0.5)
        except KeyboardInterrupt:
            job.cancel()
            job.wait()
        bar.n = round(100 * job.progress)
        bar.set_postfix_str(job.status)
    job.wait()
    print(f"{job.status}: {job.message}")
    for overlap in (job.result or {}).get("overlaps", []):
        print(f"warning: {Overlap.from_dict(overlap).warning()}")
    summary = {k: v for k, v in (job.result or {}).items() if k != "report"}
    print(json.dumps({"job": job.id, "status": job.status, "message": job.message, **summary}, default=str))
    return 0 if job.status == "done" else 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["admin"]:
        return admin(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m chatbot",
        description="Chat with the bot in the terminal. Operator commands: python -m chatbot admin --help.",
    )
    parser.add_argument("--config", default=None, help="a chatbot.toml settings file")
    parser.add_argument("--trace", action="store_true", help="print how each reply was chosen")
    parser.add_argument("--train", action="store_true", help="(re)train the default model from assets/ and exit")
    args = parser.parse_args(argv)
    settings = Settings.load(args.config)
    if args.train:
        from chatbot.artifacts import train_default_model

        print(json.dumps({"model_dir": str(train_default_model(settings))}))
        return 0
    bot = load_bot(settings)
    session = bot.session()
    suggestions: list[str] = []
    print("Type a message, or the number of a suggestion (Ctrl-D or /quit to leave).")
    for line in sys.stdin:
        if line.strip() in ("/quit", "/exit"):
            break
        choice = line.strip()
        if choice.isdigit() and 1 <= int(choice) <= len(suggestions):
            line = suggestions[int(choice) - 1]
            print(f"you> {line}")
        reply = bot.reply(session, line)
        suggestions = reply.suggestions
        print(f"bot> {reply.text}")
        for i, suggestion in enumerate(reply.suggestions, 1):
            print(f"     [{i}] {suggestion}")
        if args.trace:
            print("     " + json.dumps(reply.trace))
    return 0


if __name__ == "__main__":
    sys.exit(main())
