"""What every command shares: the lazily built application, output, and the two kinds of failure."""

import argparse
import sys
from functools import cached_property

from bot.app import App, build_app
from bot.config import Settings

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class CommandError(Exception):
    """A refused input: printed as one line on stderr, exit code 1."""


class Context:
    """Settings at once; the application (database, stores) only when a command asks for it."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    @cached_property
    def settings(self) -> Settings:
        """The settings (environment, .env)."""
        return Settings()

    @cached_property
    def app(self) -> App:
        """The application (database opened and brought up to date; the index is built on first use)."""
        return build_app(self.settings)


def positive_int(value: str) -> int:
    """An argparse type: a whole number of at least 1 (a count, a number of days)."""
    number = int(value) if value.strip().isdigit() else 0
    if not 1 <= number <= 100_000:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 100000")
    return number


def out(text: str = "") -> None:
    """Print to standard output (the CLI's only output path)."""
    sys.stdout.write(text + "\n")
