"""Measuring the matcher and the channels: `tthc eval`, `tthc bench`."""

import json
from pathlib import Path

from bot.cli.common import EXIT_OK, CommandError, Context, out, positive_int
from knowledge.db import load_procedures


def register(commands) -> None:
    """Add eval and bench."""
    ev = commands.add_parser("eval", help="accuracy report on labelled questions (TSV)")
    ev.add_argument("file")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(handler=eval_command)

    bench = commands.add_parser("bench", help="search latency and index build against baselines")
    bench.add_argument("--procedures", type=positive_int, nargs="+", default=[1000, 10000])
    bench.add_argument("--queries", type=positive_int, default=300)
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--telegram", action="store_true", help="updates/s through the Telegram Application")
    web = bench.add_argument_group('--web: the real server over loopback (README "Performance")')
    web.add_argument("--web", action="store_true", help="requests/s and latency of `tthc run` under load")
    web.add_argument("--seconds", type=float, default=4.0, help="measured seconds per scenario (default 4)")
    web.add_argument(
        "--citizens", type=positive_int, default=200, help="citizens who think between messages (default 200)"
    )
    web.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(2.0, 8.0),
        metavar=("MIN", "MAX"),
        help="seconds a citizen reads and types between messages (default 2 8)",
    )
    web.add_argument("--clients", type=positive_int, default=32, help="clients sending without pause (default 32)")
    web.add_argument("--workers", type=positive_int, nargs="+", default=[1, 2, 4], help="worker counts (default 1 2 4)")
    web.add_argument("--databases", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    web.add_argument(
        "--postgres",
        metavar="URL",
        help="PostgreSQL server to create a throwaway database on "
        "(default: TTHC_DATABASE_URL when it is PostgreSQL, else postgres@127.0.0.1:5432)",
    )
    bench.set_defaults(handler=bench_command)


def eval_command(context: Context) -> int:
    """`tthc eval`: top-1, answered, out-of-scope, facets, per length bucket, and the misses."""
    from knowledge.evaluation import EvalFileError, evaluate, format_report, load_cases

    try:
        cases = load_cases(Path(context.args.file))
    except EvalFileError as error:
        raise CommandError(str(error)) from None
    report = evaluate(context.app.index, cases)
    if context.args.json:
        out(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for line in format_report(report):
            out(line)
    return EXIT_OK


def bench_command(context: Context) -> int:
    """`tthc bench`: index build and latency against baselines in one run; or Telegram updates/s."""
    args = context.args
    if args.web:
        return web_bench_command(context)
    if args.telegram:
        import asyncio

        from bot.channels.telegram_loopback import measure_throughput

        report = asyncio.run(measure_throughput(context.app, args.queries))
        if args.json:
            out(json.dumps(report, indent=2))
        else:
            out(
                f"Telegram Application (in-process Bot API, query log on): "
                f"{report['application_updates_per_second']} updates/s ({report['updates']} updates)"
            )
            out(
                f"dialog alone: {report['dialog_updates_per_second']} updates/s; the Application runs at "
                f"{report['application_share_of_dialog']:.1%} of the dialog's speed"
            )
        return EXIT_OK
    from knowledge.bench import format_bench, run_bench

    try:
        reports = run_bench(load_procedures(context.app.engine), args.procedures, queries=args.queries)
    except ImportError as error:  # the BM25 baselines are an extra
        raise CommandError(str(error)) from None
    if args.json:
        out(json.dumps(reports, ensure_ascii=False, indent=2))
    else:
        for line in format_bench(reports):
            out(line)
    return EXIT_OK


def web_bench_command(context: Context) -> int:
    """`tthc bench --web`: the server under load, for each database and worker count, in one run."""
    import os

    from bot.loadtest import Scenario, format_rows, web_bench

    args = context.args
    configured = context.settings.database_url
    postgres = args.postgres or (
        configured if configured.startswith("postgresql") else "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    low, high = args.think
    scenarios = (
        Scenario(f"{args.citizens} citizens, think {low:g}-{high:g} s", args.citizens, (low, high), args.seconds),
        Scenario(f"{args.clients} clients, no think time", args.clients, (0.0, 0.0), args.seconds),
    )
    if not args.json:
        out(f"tthc bench --web: POST /api/chat over loopback, load from a separate process, {os.cpu_count()} cores")
        out(format_rows([])[0])

    def progress(row: dict) -> None:
        if not args.json:
            out(format_rows([row])[1])

    rows = web_bench(args.databases, args.workers, scenarios, postgres, progress)
    if args.json:
        out(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            if "skipped" in row:
                out(format_rows([row])[1])
    return EXIT_OK
