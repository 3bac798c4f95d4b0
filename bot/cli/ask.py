"""Asking the bot from the terminal: `tthc search`, `tthc show`, `tthc chat`."""

import json
import logging
import sys

from bot import texts
from bot.cli.common import EXIT_OK, CommandError, Context, out, positive_int
from bot.conversation import Incoming, Reply
from bot.texts import plain, procedure_answer, special_cases_section
from knowledge.db import load_procedure
from knowledge.normalize import FACETS

logger = logging.getLogger(__name__)


def register(commands) -> None:
    """Add search, show and chat."""
    search = commands.add_parser("search", help="best matches for a question")
    search.add_argument("query", nargs="*")
    search.add_argument("--json", action="store_true")
    search.add_argument("--jsonl", action="store_true", help="one question per stdin line, one JSON per line")
    search.add_argument("--limit", type=positive_int, default=5)
    search.set_defaults(handler=search_command)

    show = commands.add_parser("show", help="one procedure, or one facet of it")
    show.add_argument("code")
    show.add_argument("--facet", choices=FACETS)
    show.add_argument("--notes", action="store_true", help="also the staff notes (provenance, doubts)")
    show.set_defaults(handler=show_command)

    chat = commands.add_parser("chat", help="terminal conversation through the bots' dialog")
    chat.set_defaults(handler=chat_command)


def search_command(context: Context) -> int:
    """`tthc search`: the decision, facets and best matches, as text or JSON."""
    args, index = context.args, context.app.index
    if args.jsonl:
        # Bytes, decoded per line: one line of bad UTF-8 (or a matcher bug) must not stop the stream.
        for raw in sys.stdin.buffer:
            question = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            try:
                payload = index.search(question, limit=args.limit).to_json(args.limit)
            except Exception as error:  # reported on this line; the next question still gets its answer
                logger.exception("search failed for one line")
                payload = {"query": question, "decision": "none", "facets": [], "results": [], "error": str(error)}
            out(json.dumps(payload, ensure_ascii=False))
            sys.stdout.flush()
        return EXIT_OK
    if not args.query:
        raise CommandError("search: give a QUERY, or --jsonl to read questions from standard input")
    result = index.search(" ".join(args.query), limit=args.limit)
    if args.json:
        out(json.dumps(result.to_json(args.limit), ensure_ascii=False))
        return EXIT_OK
    out(f"decision: {result.decision}   facets: {', '.join(result.facets) or '-'}")
    for hit in result.hits:
        out(f"{hit.score:6.1f}  {hit.code:<10} {hit.name}  [{hit.level}]")
    return EXIT_OK


def show_command(context: Context) -> int:
    """`tthc show`: a procedure as a citizen sees it (one facet, or all), and the staff notes on request."""
    args = context.args
    info = load_procedure(context.app.engine, args.code)  # one row: no index to build
    if info is None:
        raise CommandError(f"show: unknown procedure code '{args.code}'")
    out(plain(procedure_answer(info, (args.facet,) if args.facet else FACETS)))
    if not args.facet and info.special_cases:
        out(plain(special_cases_section(info)))
    if args.notes:
        out(f"\n{texts.STAFF_NOTES_LABEL}: {info.notes or texts.NOTHING}")
    return EXIT_OK


def _print_reply(reply: Reply) -> None:
    """The messages as text, the buttons numbered (typing the number presses it)."""
    number = 0
    for message in reply.messages:
        out(plain(message.html))
        for row in message.buttons:
            for button in row:
                number += 1
                out(f"  [{number}] {button.label}")
        out()


def chat_command(context: Context) -> int:
    """`tthc chat`: a conversation in the terminal (type a number to press a button)."""
    app = context.app
    interactive = sys.stdin.isatty()
    _print_reply(app.handle(Incoming("cli", "terminal", command="start")))
    if interactive:
        out("(Gõ câu hỏi; gõ số để bấm nút; Ctrl+D để thoát.)")
    while True:
        if interactive:
            sys.stdout.write("> ")
            sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            return EXIT_OK
        text = line.strip()
        if not text:
            continue
        # A number presses the button of that number, "/help" is the command: the dialog reads both.
        incoming = Incoming("cli", "terminal", text=text)
        _print_reply(app.handle(incoming))
