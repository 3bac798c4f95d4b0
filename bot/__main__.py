"""The composition root and the `tthc` command line (also `python -m bot`)."""

import argparse
import html
import json
import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from bot.config import Settings
from bot.dialog import Dialog, Incoming, Reply, popular_codes
from bot.journal import record
from bot.texts import FACET_HEADINGS, facet_body, procedure_answer, procedure_header, source_footer, stats_text
from knowledge.db import (
    answered_counts,
    deeplink_opens,
    init_db,
    load_offices,
    load_procedures,
    make_engine,
    most_asked,
    query_stats,
    remove_office,
    write_offices,
    write_procedures,
)
from knowledge.evaluation import EvalFileError, evaluate, load_cases
from knowledge.importer import EXPORT_FORMATS, FORMATS, ImportFileError, export, export_offices, read_file, read_offices
from knowledge.normalize import FACETS, Lexicon
from knowledge.search import SearchIndex, bundled_popularity

logger = logging.getLogger("bot")

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class CommandError(Exception):
    """A refused input: printed as one line on stderr, exit code 1."""


@dataclass
class App:
    """Everything a command or a channel needs, built once from the settings."""

    settings: Settings
    engine: Engine
    lexicon: Lexicon
    dialog: Dialog

    @property
    def index(self) -> SearchIndex:
        """The live index (replaced by reload())."""
        return self.dialog.index

    def reload(self) -> int:
        """Rebuild the index from the database (after an import or a staff edit); returns procedures."""
        popularity = answered_counts(self.engine) or bundled_popularity()
        index = SearchIndex(load_procedures(self.engine), self.lexicon, popularity)
        self.dialog.replace_index(index, popular_codes(popularity))
        self.dialog.replace_offices({office.slug: office for office in load_offices(self.engine)})
        return len(index)

    def decide(self, incoming: Incoming) -> Reply:
        """The dialog's reply (pure, fast)."""
        return self.dialog.handle(incoming)

    def record(self, incoming: Incoming, reply: Reply) -> None:
        """Log what happened for staff (after the reply is sent)."""
        record(self.engine, self.settings.log_salt.get_secret_value(), incoming, reply.events)

    def handle(self, incoming: Incoming) -> Reply:
        """Decide and log (for channels that need no concurrency, like the terminal)."""
        reply = self.decide(incoming)
        self.record(incoming, reply)
        return reply

    def stats_text(self, days: int = 1) -> str:
        """Staff statistics since the start of today (or the last `days` days), as a message."""
        start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
        stats = query_stats(self.engine, start)
        opens = [
            (office or "—", self.index.by_code[code].title if code in self.index.by_code else "—", count)
            for office, code, count in deeplink_opens(self.engine, start)[:5]
        ]
        return stats_text(stats.questions, stats.answered, stats.opens, stats.unanswered, opens)


def build_app(settings: Settings | None = None) -> App:
    """Wire settings, database, lexicon, index and dialog (the only place that does)."""
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    init_db(engine)
    try:
        lexicon = Lexicon.load(settings.terms_file)
    except (OSError, ValueError) as error:
        raise CommandError(f"{settings.terms_file}: cannot load the terms file ({error})") from None
    popularity = answered_counts(engine) or bundled_popularity()
    index = SearchIndex(load_procedures(engine), lexicon, popularity)
    offices = {office.slug: office for office in load_offices(engine)}
    return App(settings, engine, lexicon, Dialog(index, popular_codes(popularity), offices))


# -- plain-text rendering for the terminal ----------------------------------------------------------------

_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>')
_TAG = re.compile(r"</?(?:b|i|a)(?:\s[^>]*)?>")


def plain(markup: str) -> str:
    """The safe HTML subset as terminal text."""
    return html.unescape(_TAG.sub("", _LINK.sub(r"\2 (\1)", markup)))


def out(text: str = "") -> None:
    """Print to standard output (the CLI's only output path)."""
    sys.stdout.write(text + "\n")


# -- commands ------------------------------------------------------------------------------------------


def cmd_search(app: App, args: argparse.Namespace) -> int:
    if args.jsonl:
        for line in sys.stdin:
            result = app.index.search(line.rstrip("\r\n"), limit=args.limit)
            out(json.dumps(result.to_json(args.limit), ensure_ascii=False))
            sys.stdout.flush()
        return EXIT_OK
    if not args.query:
        raise CommandError("search: give a QUERY, or --jsonl to read questions from standard input")
    result = app.index.search(" ".join(args.query), limit=args.limit)
    if args.json:
        out(json.dumps(result.to_json(args.limit), ensure_ascii=False))
        return EXIT_OK
    out(f"decision: {result.decision}   facets: {', '.join(result.facets) or '-'}")
    for hit in result.hits:
        out(f"{hit.score:6.1f}  {hit.code:<10} {hit.name}  [{hit.level}]")
    return EXIT_OK


def cmd_show(app: App, args: argparse.Namespace) -> int:
    info = app.index.by_code.get(args.code)
    if info is None:
        raise CommandError(f"show: unknown procedure code '{args.code}'")
    if args.facet:
        out(
            plain(
                f"{procedure_header(info)}\n\n<b>{FACET_HEADINGS[args.facet]}</b>\n"
                f"{facet_body(info, args.facet)}\n\n{source_footer(info)}"
            )
        )
    else:
        out(plain(procedure_answer(info, FACETS)))
    return EXIT_OK


def _print_reply(reply: Reply) -> list[str]:
    buttons: list[str] = []
    for message in reply.messages:
        out(plain(message.html))
        for row in message.buttons:
            for button in row:
                buttons.append(button.data)
                out(f"  [{len(buttons)}] {button.label}")
        out()
    return buttons


def cmd_chat(app: App, args: argparse.Namespace) -> int:
    interactive = sys.stdin.isatty()
    buttons = _print_reply(app.handle(Incoming("cli", "terminal", command="start")))
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
        if text.isdigit() and 1 <= int(text) <= len(buttons):
            incoming = Incoming("cli", "terminal", button=buttons[int(text) - 1])
        elif text in ("/help", "/linhvuc"):
            incoming = Incoming("cli", "terminal", command=text[1:])
        else:
            incoming = Incoming("cli", "terminal", text=text)
        buttons = _print_reply(app.handle(incoming))


def cmd_import(app: App, args: argparse.Namespace) -> int:
    path = Path(args.file)

    def progress(line: int) -> None:
        if line % 500 == 0:
            sys.stderr.write(f"\r{path.name}: {line} records read")
            sys.stderr.flush()

    read = read_file(path, args.format, progress)
    if read.skipped:
        sys.stderr.write("\n")
    national = any(info.origin != "curated" for info in read.procedures)
    result = write_procedures(
        app.engine, read.procedures, dry_run=args.dry_run, keep_curated=national and not args.replace
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


def cmd_export(app: App, args: argparse.Namespace) -> int:
    procedures = load_procedures(app.engine)
    try:
        export(procedures, args.file, args.format)
    except OSError as error:
        raise CommandError(f"{args.file}: cannot write ({error.strerror or error})") from None
    if args.file != "-":
        out(f"{args.file}: {len(procedures)} procedures written")
    return EXIT_OK


def cmd_lint(app: App, args: argparse.Namespace) -> int:
    from knowledge.lint import lint

    procedures = read_file(Path(args.file), args.format).procedures if args.file else load_procedures(app.engine)
    if not args.file and args.curated:
        procedures = [info for info in procedures if info.origin == "curated"]
    problems = lint(procedures, app.lexicon)
    for problem in problems:
        out(str(problem))
    out(f"{len(procedures)} procedures checked, {len(problems)} problems")
    return EXIT_REFUSED if problems else EXIT_OK


def cmd_eval(app: App, args: argparse.Namespace) -> int:
    try:
        report = evaluate(app.index, load_cases(Path(args.file)))
    except EvalFileError as error:
        raise CommandError(str(error)) from None
    if args.json:
        out(json.dumps(report, ensure_ascii=False, indent=2))
        return EXIT_OK

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.1%}"

    for miss in report["misses"]:
        out(
            f"  miss line {miss['line']}: {miss['query']!r} expected {miss['expected']} -> "
            f"{miss['decision']} {miss['got']} facets {miss['facets']}"
        )
    for item in report["not_in_knowledge_base"]:
        out(f"  not in knowledge base, line {item['line']}: {item['query']!r} expects {item['expected']}")
    out(
        f"questions: {report['questions']} ({len(report['not_in_knowledge_base'])} expect a procedure "
        f"not in the knowledge base, reported apart)"
    )
    out(f"in-scope top-1 (answered): {pct(report['top1_answered'])} of {report['in_scope']}")
    out(f"in-scope top-1 (ranked first): {pct(report['top1'])}   MRR@5: {report['mrr5']}")
    out(f"ambiguous questions with all expected codes in top 5: {pct(report['all5'])} of {report['all5_questions']}")
    out(f"out-of-scope rejected (none): {pct(report['out_of_scope_rejected'])} of {report['out_of_scope']}")
    out(f"facet accuracy: {pct(report['facet_accuracy'])}")
    return EXIT_OK


def cmd_bench(app: App, args: argparse.Namespace) -> int:
    if args.telegram:
        import asyncio

        from bot.telegram_loopback import measure_throughput

        report = asyncio.run(measure_throughput(app, args.queries))
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
    from knowledge.bench import run_bench

    reports = run_bench(load_procedures(app.engine), args.procedures, queries=args.queries)
    if args.json:
        out(json.dumps(reports, ensure_ascii=False, indent=2))
        return EXIT_OK
    for report in reports:
        out(
            f"{report['procedures']} procedures, {report['phrases']} names and aliases: index built in "
            f"{report['build_seconds']:.2f} s, {report['index_memory_mb']} MB"
        )
        for timing in report["timings"]:
            out(
                f"  {timing['method']:<55} p50 {timing['p50_ms']:8.3f} ms   p99 {timing['p99_ms']:8.3f} ms"
                f"   ({timing['queries']} questions)"
            )
        out(
            f"  p50 speed-up: {report['speedup_p50_vs_rapidfuzz']}x vs rapidfuzz scan, "
            f"{report['speedup_p50_vs_bm25']}x vs BM25"
        )
    return EXIT_OK


def cmd_office(app: App, args: argparse.Namespace) -> int:
    from knowledge.records import RecordError, parse_office

    if args.action == "add":
        raw = {
            "slug": args.slug,
            "name": args.name,
            "address": args.address,
            "hours": args.hours,
            "phone": args.phone,
            "map_url": args.map,
            "province": args.province,
            "commune": args.commune,
            "notes": args.notes,
        }
        try:
            office = parse_office({key: value for key, value in raw.items() if value is not None}, "office")
        except RecordError as error:
            raise CommandError(str(error)) from None
        added, _ = write_offices(app.engine, [office])
        out(f"office {office.slug} {'added' if added else 'updated'}")
    elif args.action == "list":
        offices = load_offices(app.engine)
        for office in offices:
            out(f"{office.slug:<24} {office.name} | {office.address} | {office.hours} | {office.phone}")
        if not offices:
            out("no offices yet: tthc office add SLUG --name ... --address ... --hours ... --phone ...")
    elif args.action == "remove":
        if not remove_office(app.engine, args.slug):
            raise CommandError(f"office: no office with slug '{args.slug}'")
        out(f"office {args.slug} removed")
    elif args.action == "import":
        offices = read_offices(Path(args.file))
        added, updated = write_offices(app.engine, offices)
        out(f"{args.file}: {len(offices)} offices read; added {added}, updated {updated}")
    elif args.action == "export":
        export_offices(load_offices(app.engine), args.file)
    return EXIT_OK


def _office(app: App, slug: str):
    office = next((office for office in load_offices(app.engine) if office.slug == slug), None)
    if office is None:
        raise CommandError(f"unknown office '{slug}' (tthc office list shows them)")
    return office


def _deep_link(app: App, code: str | None, office: str | None, target: str = "telegram") -> str:
    from qr.links import PayloadError, encode_payload, telegram_link

    if code and code not in app.index.by_code:
        raise CommandError(f"unknown procedure code '{code}'")
    if office:
        _office(app, office)
    if target == "web":
        if not app.settings.public_url:
            raise CommandError("--target web needs TTHC_PUBLIC_URL (the public address of the web server)")
        base = app.settings.public_url.rstrip("/")
        return f"{base}/p/{code}" + (f"?o={office}" if office else "") if code else f"{base}/o/{office}"
    username = app.settings.telegram_bot_username
    if not username:
        raise CommandError("set TTHC_TELEGRAM_BOT_USERNAME (the bot's @username) to make Telegram links")
    try:
        return telegram_link(username, encode_payload(code, office))
    except PayloadError as error:
        raise CommandError(str(error)) from None


def cmd_qr(app: App, args: argparse.Namespace) -> int:
    from qr.render import qr_png, qr_svg

    if not args.code and not args.office:
        raise CommandError("qr: give a procedure CODE, --office SLUG, or both")
    link = _deep_link(app, args.code, args.office, args.target)
    fmt = args.format or ("svg" if args.out.lower().endswith(".svg") else "png")
    if args.caption is not None:
        caption = args.caption
    elif args.code:
        caption = app.index.by_code[args.code].title
    else:
        caption = _office(app, args.office).name
    target = Path(args.out)
    if fmt == "svg":
        target.write_text(qr_svg(link), encoding="utf-8")
    else:
        target.write_bytes(qr_png(link, caption or None))
    out(f"{target}: {link}")
    return EXIT_OK


def cmd_poster(app: App, args: argparse.Namespace) -> int:
    from qr.poster import PosterItem, PosterOffice, render_poster

    office = _office(app, args.office)
    if args.codes:
        codes = [code.strip() for code in args.codes.split(",") if code.strip()]
    else:
        codes = most_asked(app.engine, office.slug) or list(app.dialog.popular[:6])
    unknown = [code for code in codes if code not in app.index.by_code]
    if unknown or not codes:
        raise CommandError(f"poster: unknown procedure code '{unknown[0]}'" if unknown else "poster: no procedures")
    items = [
        PosterItem(app.index.by_code[code].title, code, _deep_link(app, code, office.slug, args.target))
        for code in codes
    ]
    pages = render_poster(PosterOffice(office.name, office.address, office.hours, office.phone), items, Path(args.out))
    out(f"{args.out}: {len(items)} procedures on {pages} page(s)")
    return EXIT_OK


def cmd_stats(app: App, args: argparse.Namespace) -> int:
    since = datetime.now(UTC) - timedelta(days=args.days)
    out(plain(app.stats_text(args.days)))
    out()
    out(f"QR and deep-link opens in the last {args.days} day(s):")
    rows = deeplink_opens(app.engine, since)
    for office, code, count in rows:
        title = app.index.by_code[code].title if code in app.index.by_code else "-"
        out(f"  {count:5d}  {office or '(no office)':<24} {code or '-':<10} {title}")
    if not rows:
        out("  (none)")
    return EXIT_OK


def build_web(app: App, extra_mounts: tuple = ()):
    """The web server's application: chat, landing pages and the staff admin."""
    import secrets

    from bot.admin import setup_admin
    from bot.web import create_web_app

    settings = app.settings
    if settings.secret_key is None:
        logger.warning("TTHC_SECRET_KEY is not set: staff must log in again after every restart")
    secret = settings.secret_key.get_secret_value() if settings.secret_key else secrets.token_urlsafe(32)
    https_only = bool(settings.public_url and settings.public_url.startswith("https://"))
    admin = setup_admin(app, secret, https_only)
    return create_web_app(app, bot_username=settings.telegram_bot_username, mounts=(admin, *extra_mounts))


async def serve(app: App) -> None:
    """The web server, and Telegram in the same process when a token is set."""
    import asyncio
    import secrets
    from urllib.parse import urlsplit

    import uvicorn

    settings = app.settings
    mounts: tuple = ()
    application = None
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else None
    if settings.telegram_token is not None:
        from fastapi import Request
        from fastapi.responses import Response

        from bot import telegram

        application = telegram.build_application(
            app,
            settings.telegram_token.get_secret_value(),
            base_url=settings.telegram_base_url,
            staff_ids=settings.staff_id_set,
        )
        if settings.telegram_webhook_url:
            if not secret:  # never accept unsigned updates: make a secret and give it to Telegram
                secret = secrets.token_urlsafe(32)
            feed = telegram.webhook_handler(application, secret)
            path = urlsplit(settings.telegram_webhook_url).path or "/telegram"

            def mount_webhook(web) -> None:
                @web.post(path, include_in_schema=False)
                async def telegram_webhook(request: Request) -> Response:
                    try:
                        body = await request.json()
                    except ValueError:
                        return Response(status_code=400)
                    ok = await feed(body, request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
                    return Response(status_code=200 if ok else 403)

            mounts = (mount_webhook,)
    web = build_web(app, mounts)
    server = uvicorn.Server(uvicorn.Config(web, host=settings.host, port=settings.port, log_level="info"))
    if application is None:
        await server.serve()
        return
    from bot import telegram

    bot_task = asyncio.create_task(
        telegram.serve(application, webhook_url=settings.telegram_webhook_url, webhook_secret=secret)
    )
    try:
        await server.serve()
    finally:
        bot_task.cancel()
        try:
            await bot_task
        except asyncio.CancelledError:
            pass


def cmd_run(app: App, args: argparse.Namespace) -> int:
    import asyncio

    settings = app.settings
    channels = ["web"] + (["telegram"] if settings.telegram_token else [])
    logger.warning("serving %s on http://%s:%s", " + ".join(channels), settings.host, settings.port)
    asyncio.run(serve(app))
    return EXIT_OK


def cmd_admin(app: App, args: argparse.Namespace) -> int:
    from bot.accounts import AccountError, create_user

    if not args.password_stdin:
        raise CommandError("admin create-user: pass the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        create_user(app.engine, args.name, password, args.role)
    except AccountError as error:
        raise CommandError(f"admin create-user: {error}") from None
    out(f"staff account {args.name} ({args.role}) saved")
    return EXIT_OK


def cmd_link(app: App, args: argparse.Namespace) -> int:
    if not args.code and not args.office:
        raise CommandError("link: give a procedure CODE, --office SLUG, or both")
    out(_deep_link(app, args.code, args.office))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tthc", description="Trợ lý thủ tục hành chính (TTHC Bot)")
    parser.add_argument("--verbose", "-v", action="store_true", help="more detail; tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    search = commands.add_parser("search", help="best matches for a question")
    search.add_argument("query", nargs="*")
    search.add_argument("--json", action="store_true")
    search.add_argument("--jsonl", action="store_true", help="one question per stdin line, one JSON per line")
    search.add_argument("--limit", type=int, default=5)
    search.set_defaults(handler=cmd_search)

    show = commands.add_parser("show", help="one procedure, or one facet of it")
    show.add_argument("code")
    show.add_argument("--facet", choices=FACETS)
    show.set_defaults(handler=cmd_show)

    chat = commands.add_parser("chat", help="terminal conversation through the bots' dialog")
    chat.set_defaults(handler=cmd_chat)

    imp = commands.add_parser("import", help="import procedures from yaml/json/csv/xlsx or national records")
    imp.add_argument("file")
    imp.add_argument("--format", choices=FORMATS)
    imp.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    imp.add_argument("--replace", action="store_true", help="national records may overwrite curated entries")
    imp.set_defaults(handler=cmd_import)

    exp = commands.add_parser("export", help="export procedures (FILE or - for standard output)")
    exp.add_argument("file")
    exp.add_argument("--format", choices=EXPORT_FORMATS)
    exp.set_defaults(handler=cmd_export)

    lint = commands.add_parser("lint", help="empty facets, duplicate or shadowing aliases (database or FILE)")
    lint.add_argument("file", nargs="?")
    lint.add_argument("--format", choices=FORMATS)
    lint.add_argument("--curated", action="store_true", help="only curated procedures (not national records)")
    lint.set_defaults(handler=cmd_lint)

    ev = commands.add_parser("eval", help="accuracy report on labelled questions (TSV)")
    ev.add_argument("file")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(handler=cmd_eval)

    bench = commands.add_parser("bench", help="search latency and index build against baselines")
    bench.add_argument("--procedures", type=int, nargs="+", default=[1000, 10000])
    bench.add_argument("--queries", type=int, default=300)
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--telegram", action="store_true", help="updates/s through the Telegram Application")
    bench.set_defaults(handler=cmd_bench)

    run = commands.add_parser("run", help="serve every configured channel")
    run.set_defaults(handler=cmd_run)

    office = commands.add_parser("office", help="one-stop offices: add, list, remove, import, export")
    office_actions = office.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = office_actions.add_parser("add", help="add or update an office")
    add.add_argument("slug")
    add.add_argument("--name", required=True)
    for option in ("address", "hours", "phone", "map", "province", "commune", "notes"):
        add.add_argument(f"--{option}")
    office_actions.add_parser("list", help="list offices")
    remove = office_actions.add_parser("remove", help="remove an office")
    remove.add_argument("slug")
    office_import = office_actions.add_parser("import", help="add or update offices from yaml/json/csv")
    office_import.add_argument("file")
    office_export = office_actions.add_parser("export", help="write offices to yaml/json/csv or - (json)")
    office_export.add_argument("file")
    office.set_defaults(handler=cmd_office)

    qr = commands.add_parser("qr", help="a QR code for a procedure and/or an office")
    qr.add_argument("code", nargs="?")
    qr.add_argument("--office", metavar="SLUG")
    qr.add_argument("--out", required=True, metavar="FILE")
    qr.add_argument("--format", choices=("png", "svg"))
    qr.add_argument("--caption", help="text under the code (default: the procedure or office name; '' for none)")
    qr.add_argument("--target", choices=("telegram", "web"), default="telegram")
    qr.set_defaults(handler=cmd_qr)

    poster = commands.add_parser("poster", help="a printable A4 PDF of QR codes for an office")
    poster.add_argument("--office", required=True, metavar="SLUG")
    poster.add_argument("--codes", help="C1,C2,... (default: the office's most asked procedures)")
    poster.add_argument("--out", required=True, metavar="FILE.pdf")
    poster.add_argument("--target", choices=("telegram", "web"), default="telegram")
    poster.set_defaults(handler=cmd_poster)

    stats = commands.add_parser("stats", help="questions, answered share, QR opens by office and procedure")
    stats.add_argument("--days", type=int, default=7)
    stats.set_defaults(handler=cmd_stats)

    admin = commands.add_parser("admin", help="staff accounts of the web admin")
    admin_actions = admin.add_subparsers(dest="action", required=True, metavar="ACTION")
    create_user = admin_actions.add_parser("create-user", help="create a staff account (or reset its password)")
    create_user.add_argument("name")
    create_user.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    create_user.add_argument("--role", choices=("admin", "editor"), default="editor")
    admin.set_defaults(handler=cmd_admin)

    link = commands.add_parser("link", help="the Telegram deep link of a procedure (and/or an office)")
    link.add_argument("code", nargs="?")
    link.add_argument("--office", metavar="SLUG")
    link.set_defaults(handler=cmd_link)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `tthc` command; returns the exit code (0 ok, 1 refused input, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "limit", 5) < 1 and args.command == "search":
        parser.error("--limit must be at least 1")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        app = build_app()
        return args.handler(app, args)
    except (CommandError, ImportFileError) as error:
        if args.verbose:
            raise
        sys.stderr.write(f"tthc: {error}\n")
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
