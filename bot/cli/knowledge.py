"""Keeping the knowledge base: `tthc import`, `tthc export`, `tthc lint`."""

import sys
from pathlib import Path

from bot.cli.common import EXIT_OK, EXIT_REFUSED, CommandError, Context, out
from knowledge.db import load_procedures, write_procedures
from knowledge.exporter import EXPORT_FORMATS, export
from knowledge.importer import FORMATS, read_file
from knowledge.records import ORIGIN_CURATED


def register(commands) -> None:
    """Add import, export and lint."""
    imp = commands.add_parser("import", help="import procedures from yaml/json/csv/xlsx or national records")
    imp.add_argument("file")
    imp.add_argument("--format", choices=FORMATS)
    imp.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    imp.add_argument("--replace", action="store_true", help="national records may overwrite curated entries")
    imp.set_defaults(handler=import_command)

    exp = commands.add_parser("export", help="export procedures (FILE or - for standard output)")
    exp.add_argument("file")
    exp.add_argument("--format", choices=EXPORT_FORMATS)
    exp.set_defaults(handler=export_command)

    lint = commands.add_parser("lint", help="empty facets, duplicate or shadowing aliases (database or FILE)")
    lint.add_argument("file", nargs="?")
    lint.add_argument("--format", choices=FORMATS)
    lint.add_argument("--curated", action="store_true", help="only curated procedures (not national records)")
    lint.set_defaults(handler=lint_command)


def import_command(context: Context) -> int:
    """`tthc import`: all or nothing; the running server sees the change within seconds."""
    args = context.args
    path = Path(args.file)

    def progress(line: int) -> None:
        if line % 500 == 0:
            sys.stderr.write(f"\r{path.name}: {line} records read")
            sys.stderr.flush()

    read = read_file(path, args.format, progress)
    if read.skipped:
        sys.stderr.write("\n")
    national = any(info.origin != ORIGIN_CURATED for info in read.procedures)
    result = write_procedures(
        context.app.engine,
        read.procedures,
        dry_run=args.dry_run,
        keep_curated=national and not args.replace,
        given=read.given,
    )
    prefix = "would be " if args.dry_run else ""
    out(
        f"{path}: {len(read.procedures)} procedures read; {prefix}added {len(result.added)}, "
        f"{prefix}updated {len(result.updated)}, unchanged {len(result.unchanged)}"
        + (f", curated kept {len(result.kept)} (use --replace to overwrite)" if result.kept else "")
        + (f", skipped {len(read.skipped)}" if read.skipped else "")
    )
    if args.dry_run or args.verbose:
        for label, codes in (("added", result.added), ("updated", result.updated)):
            if codes:
                out(f"  {prefix}{label}: {', '.join(codes[:50])}{' …' if len(codes) > 50 else ''}")
    for reason in read.skipped[: None if args.verbose else 10]:
        out(f"  skipped {reason}")
    if len(read.skipped) > 10 and not args.verbose:
        out(f"  … {len(read.skipped) - 10} more skipped (--verbose lists them)")
    return EXIT_OK


def export_command(context: Context) -> int:
    """`tthc export`: JSON, YAML, CSV or XLSX, to a file or standard output."""
    args = context.args
    procedures = load_procedures(context.app.engine)
    try:
        export(procedures, args.file, args.format)
    except OSError as error:
        raise CommandError(f"{args.file}: cannot write ({error.strerror or error})") from None
    if args.file != "-":
        out(f"{args.file}: {len(procedures)} procedures written")
    return EXIT_OK


def lint_command(context: Context) -> int:
    """`tthc lint`: problems staff should fix before citizens see them; exit 1 when there are any."""
    from knowledge.lint import lint

    args = context.args
    app = context.app
    procedures = read_file(Path(args.file), args.format).procedures if args.file else load_procedures(app.engine)
    if not args.file and args.curated:
        procedures = [info for info in procedures if info.origin == ORIGIN_CURATED]
    problems = lint(procedures, app.lexicon)
    for problem in problems:
        out(str(problem))
    out(f"{len(procedures)} procedures checked, {len(problems)} problems")
    return EXIT_REFUSED if problems else EXIT_OK
