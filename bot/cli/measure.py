"""Measuring the matcher and the channels: `tthc eval`, `tthc bench`."""

import json
from pathlib import Path

from bot.cli.common import EXIT_OK, CommandError, Context, out
from knowledge.db import load_procedures


def register(commands) -> None:
    """Add eval and bench."""
    ev = commands.add_parser("eval", help="accuracy report on labelled questions (TSV)")
    ev.add_argument("file")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(handler=eval_command)

    bench = commands.add_parser("bench", help="search latency and index build against baselines")
    bench.add_argument("--procedures", type=int, nargs="+", default=[1000, 10000])
    bench.add_argument("--queries", type=int, default=300)
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--telegram", action="store_true", help="updates/s through the Telegram Application")
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
