"""Operating the service: `tthc backup FILE`, `tthc purge`."""

import sqlite3
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from bot.cli.common import EXIT_OK, CommandError, Context, out


def register(commands) -> None:
    """Add backup and purge."""
    backup = commands.add_parser("backup", help="copy the SQLite database while the bot runs (PostgreSQL: pg_dump)")
    backup.add_argument("file", help="the copy to write (must not exist)")
    backup.set_defaults(handler=backup_command)

    purge = commands.add_parser("purge", help="erase personal data past its retention (also done daily by run)")
    purge.set_defaults(handler=purge_command)


def backup_command(context: Context) -> int:
    """`tthc backup FILE`: SQLite's online backup (consistent while the server writes); PostgreSQL is backed up
    with its own tool, whose command line this prints."""
    url = make_url(context.settings.database_url)
    target = Path(context.args.file)
    if url.get_backend_name() == "postgresql":
        # Without the password (pg_dump asks for it, or reads PGPASSWORD / ~/.pgpass).
        server = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database)
        raise CommandError(
            "backup: PostgreSQL is backed up with pg_dump: "
            f"pg_dump --format=custom --file={target} '{server.render_as_string(hide_password=False)}'"
        )
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        raise CommandError(f"backup: only a SQLite file or PostgreSQL can be backed up, not {url.get_backend_name()}")
    source = Path(url.database)
    if not source.exists():
        raise CommandError(f"backup: {source}: no such database")
    if target.exists():
        raise CommandError(f"backup: {target}: already exists; choose a new file name")
    if not target.parent.is_dir():
        raise CommandError(f"backup: {target.parent}: no such folder")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)  # left by an interrupted backup
    try:
        # Read-only: the backup must never change (or create) the database it copies.
        src = sqlite3.connect(f"file:{source.resolve()}?mode=ro", uri=True)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # page by page, consistent even while the server writes
            procedures = dst.execute("SELECT count(*) FROM procedure").fetchone()[0]
        finally:
            src.close()
            dst.close()
    except sqlite3.Error as error:
        partial.unlink(missing_ok=True)
        raise CommandError(f"backup: {source}: {error}") from None
    partial.rename(target)
    size = target.stat().st_size / 1_000_000
    out(f"backed up {source} to {target} ({procedures} procedures, {size:.1f} MB)")
    return EXIT_OK


def purge_command(context: Context) -> int:
    """`tthc purge`: erase personal data past its retention now, and say what was erased."""
    from bot.retention import purge_personal_data

    settings = context.settings
    report = purge_personal_data(context.app.engine, settings.log_retention_days, settings.ticket_retention_days)
    for line in report.lines():
        out(line)
    return EXIT_OK
