"""Questions handed to staff, for scripts and tests: `tthc tickets list`, `tthc tickets answer`."""

import json
import sys

from bot.cli.common import EXIT_OK, CommandError, Context, out
from bot.texts import local_time
from bot.tickets import STATUSES, TicketError, answer_ticket, list_tickets


def register(commands) -> None:
    """Add tickets list and tickets answer."""
    tickets = commands.add_parser("tickets", help='questions handed to staff ("Hỏi cán bộ")')
    actions = tickets.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="tickets, oldest first")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--json", action="store_true")
    answer = actions.add_parser("answer", help="answer one; it is delivered on the citizen's channel")
    answer.add_argument("code")
    answer.add_argument("--text-stdin", action="store_true", help="read the answer from standard input")
    answer.add_argument("--public", action="store_true", help="also show it on /hoi-dap (no personal data)")
    answer.add_argument("--staff", default="cli", help="who answers (shown to staff; default: cli)")
    tickets.set_defaults(handler=tickets_command)


def tickets_command(context: Context) -> int:
    """`tthc tickets list|answer`."""
    args, engine = context.args, context.app.engine
    if args.action == "list":
        tickets = list_tickets(engine, args.status)
        if args.json:
            rows = [
                {
                    "code": ticket.code,
                    "status": ticket.status,
                    "channel": ticket.channel,
                    "question": ticket.question,
                    "created_at": ticket.created_at.isoformat(),
                    "answered_at": ticket.answered_at.isoformat() if ticket.answered_at else None,
                    "answer": ticket.answer or None,
                    "delivery": ticket.delivery or None,
                    "office": ticket.office_slug,
                }
                for ticket in tickets
            ]
            out(json.dumps(rows, ensure_ascii=False, indent=2))
        else:
            for ticket in tickets:
                when = local_time(ticket.created_at, "%Y-%m-%d %H:%M")  # Vietnam time, as staff read it
                out(f"{ticket.code}  {ticket.status:<8} {ticket.channel:<9} {when}  {ticket.question[:80]}")
            if not tickets:
                out("(no tickets)")
        return EXIT_OK
    if not args.text_stdin:
        raise CommandError("tickets answer: pass the answer on standard input with --text-stdin")
    text = sys.stdin.read()
    try:
        ticket = answer_ticket(engine, args.code, text, staff=args.staff, public=args.public)
    except TicketError as error:
        raise CommandError(f"tickets answer: {error}") from None
    out(f"{ticket.code} answered; it is delivered on {ticket.channel}")
    return EXIT_OK
