"""Running the service: `tthc run`, `tthc admin create-user`, `tthc db upgrade`."""

import argparse
import logging
import sys

from bot.accounts import ROLES
from bot.cli.common import EXIT_OK, CommandError, Context, out, positive_int

logger = logging.getLogger(__name__)


def register(commands) -> None:
    """Add run, admin and db."""
    run = commands.add_parser("run", help="serve every configured channel")
    run.add_argument(
        "--workers", type=positive_int, default=1, metavar="N", help="server processes on this machine (default 1)"
    )
    run.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # one of --workers N, started by it
    run.set_defaults(handler=run_command)

    admin = commands.add_parser("admin", help="staff accounts of the web admin")
    admin_actions = admin.add_subparsers(dest="action", required=True, metavar="ACTION")
    create_user = admin_actions.add_parser("create-user", help="create a staff account (or reset its password)")
    create_user.add_argument("name")
    create_user.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    create_user.add_argument("--role", choices=ROLES, default="editor")
    admin.set_defaults(handler=admin_command)

    db = commands.add_parser("db", help="the database schema")
    db_actions = db.add_subparsers(dest="action", required=True, metavar="ACTION")
    db_actions.add_parser("upgrade", help="apply the database migrations this version needs")
    db.set_defaults(handler=db_command)


def run_command(context: Context) -> int:
    """`tthc run`: the web server and every configured channel, in one process; or `--workers N` processes
    on the same port under a supervisor (bot.workers)."""
    import asyncio

    from bot.server import serve

    args = context.args
    if args.workers > 1 and not args.worker:
        from bot.workers import Supervisor

        context.app.engine.dispose()  # the schema is checked (SQLite upgraded, seeded) once, before the workers
        settings = context.settings
        logger.warning("serving on http://%s:%s with %d workers", settings.host, settings.port, args.workers)
        return Supervisor(args.workers, ["--verbose"] if args.verbose else []).run()
    app = context.app
    settings = app.settings
    if not args.worker:
        logger.warning("serving on http://%s:%s", settings.host, settings.port)
    asyncio.run(serve(app, reuse_port=args.worker))
    return EXIT_OK


def admin_command(context: Context) -> int:
    """`tthc admin create-user NAME --password-stdin`."""
    from bot.accounts import AccountError, create_user

    args = context.args
    if not args.password_stdin:
        raise CommandError("admin create-user: pass the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        create_user(context.app.engine, args.name, password, args.role)
    except AccountError as error:
        raise CommandError(f"admin create-user: {error}") from None
    out(f"staff account {args.name} ({args.role}) saved")
    return EXIT_OK


def db_command(context: Context) -> int:
    """`tthc db upgrade`: bring the schema to this version (the only way on PostgreSQL)."""
    from knowledge.db import init_db, make_engine, upgrade_schema

    engine = make_engine(context.settings.database_url)
    try:
        before, after = upgrade_schema(engine)
        init_db(engine)  # an empty database also gets the bundled knowledge base
    finally:
        engine.dispose()
    if before == after:
        out(f"database schema is current ({after})")
    else:
        out(f"database schema: {before or 'empty'} -> {after}")
    return EXIT_OK
