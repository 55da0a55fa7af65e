"""Terminal chat with the bot: ``python -m chatbot [--trace]``.

Trains the default model on first use (with a progress bar), like ``python app.py``.
"""

from __future__ import annotations

import argparse
import json
import sys

from chatbot import Bot, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chatbot", description="Chat with the bot in the terminal.")
    parser.add_argument("--config", default=None, help="a chatbot.toml settings file")
    parser.add_argument("--trace", action="store_true", help="print how each reply was chosen")
    parser.add_argument("--train", action="store_true", help="(re)train the default model from assets/ and exit")
    args = parser.parse_args(argv)
    settings = Settings.load(args.config)
    if args.train:
        from chatbot.artifacts import train_default_model

        print(json.dumps({"model_dir": str(train_default_model(settings))}))
        return 0
    bot = Bot.from_settings(settings)
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
