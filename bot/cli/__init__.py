"""The `tthc` command line: each module registers its own commands; this one parses and dispatches."""

import argparse
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from bot.app import SetupError
from bot.cli import ask, counter, knowledge, measure, operations, service, tickets
from bot.cli.common import EXIT_REFUSED, CommandError, Context
from bot.observability import configure_logging
from knowledge.db import SchemaBehindError
from knowledge.exporter import ExportError
from knowledge.importer import ImportFileError

COMMAND_MODULES = (ask, knowledge, measure, counter, tickets, service, operations)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = argparse.ArgumentParser(prog="tthc", description="Trợ lý thủ tục hành chính (TTHC Bot)")
    parser.add_argument("--verbose", "-v", action="store_true", help="more detail; tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `tthc` command; returns the exit code (0 ok, 1 refused input, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    context = Context(args)
    configure_logging(args.verbose, _log_format(context))
    try:
        return args.handler(context)
    except (CommandError, ImportFileError, ExportError, SetupError, SchemaBehindError) as error:
        if args.verbose:
            raise
        sys.stderr.write(f"tthc: {error}\n")
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return 130


def _log_format(context: Context) -> str:
    """TTHC_LOG_FORMAT; text when the settings do not load (the command that needs them says why)."""
    try:
        return context.settings.log_format
    except ValidationError:
        return "text"
