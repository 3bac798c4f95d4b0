"""The one-stop counter: `tthc office`, `tthc link`, `tthc qr`, `tthc poster`, `tthc stats`."""

from pathlib import Path

from bot import texts
from bot.cli.common import EXIT_OK, CommandError, Context, out, positive_int
from bot.texts import plain
from knowledge.db import deeplink_opens, load_offices, load_procedure, most_asked, remove_office, write_offices
from knowledge.exporter import export_offices
from knowledge.importer import read_offices
from knowledge.records import OfficeInfo, RecordError, parse_office

TARGETS = ("auto", "web", "telegram", "zalo")


def register(commands) -> None:
    """Add office, link, qr, poster and stats."""
    office = commands.add_parser("office", help="one-stop offices: add, list, remove, import, export")
    office_actions = office.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = office_actions.add_parser("add", help="add or update an office")
    add.add_argument("slug")
    add.add_argument("--name", required=True)
    for option in ("address", "hours", "phone", "map", "province", "commune", "notes"):
        add.add_argument(f"--{option}")
    add.add_argument("--agencies", help="agencies it receives dossiers for, ';'-separated (default: UBND cấp xã)")
    office_actions.add_parser("list", help="list offices")
    remove = office_actions.add_parser("remove", help="remove an office")
    remove.add_argument("slug")
    office_import = office_actions.add_parser("import", help="add or update offices from yaml/json/csv")
    office_import.add_argument("file")
    office_export = office_actions.add_parser("export", help="write offices to yaml/json/csv or - (json)")
    office_export.add_argument("file")
    office.set_defaults(handler=office_command)

    link = commands.add_parser("link", help="the Telegram deep link of a procedure (and/or an office)")
    link.add_argument("code", nargs="?")
    link.add_argument("--office", metavar="SLUG")
    link.set_defaults(handler=link_command)

    qr = commands.add_parser("qr", help="a QR code for a procedure and/or an office")
    qr.add_argument("code", nargs="?")
    qr.add_argument("--office", metavar="SLUG")
    qr.add_argument("--out", required=True, metavar="FILE")
    qr.add_argument("--format", choices=("png", "svg"))
    qr.add_argument("--caption", help="text under the code (default: the procedure or office name; '' for none)")
    qr.add_argument("--target", choices=TARGETS, default="auto", help=_TARGET_HELP)
    qr.set_defaults(handler=qr_command)

    poster = commands.add_parser("poster", help="a printable A4 PDF of QR codes for an office")
    poster.add_argument("--office", required=True, metavar="SLUG")
    poster.add_argument("--codes", help="C1,C2,... (default: the office's most asked procedures)")
    poster.add_argument("--out", required=True, metavar="FILE.pdf")
    poster.add_argument("--target", choices=TARGETS, default="auto", help=_TARGET_HELP)
    poster.set_defaults(handler=poster_command)

    stats = commands.add_parser("stats", help="questions, answered share, QR opens by office and procedure")
    stats.add_argument("--days", type=positive_int, default=7)
    stats.set_defaults(handler=stats_command)


_TARGET_HELP = (
    "what the code opens: web (the landing page at TTHC_PUBLIC_URL, for any phone), telegram (the bot, "
    "TTHC_TELEGRAM_BOT_USERNAME), zalo (the same landing page: Zalo links cannot carry a code, so the page shows "
    "the code to send on Zalo); auto: web when TTHC_PUBLIC_URL is set, else telegram"
)


def office_command(context: Context) -> int:
    """`tthc office add|list|remove|import|export`."""
    args, engine = context.args, context.app.engine
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
            "agencies": [part.strip() for part in args.agencies.split(";") if part.strip()] if args.agencies else None,
        }
        try:
            office = parse_office({key: value for key, value in raw.items() if value is not None}, "office")
        except RecordError as error:
            raise CommandError(str(error)) from None
        added, _ = write_offices(engine, [office])
        out(f"office {office.slug} {'added' if added else 'updated'}")
    elif args.action == "list":
        offices = load_offices(engine)
        for office in offices:
            out(f"{office.slug:<24} {office.name} | {office.address} | {office.hours} | {office.phone}")
        if not offices:
            out("no offices yet: tthc office add SLUG --name ... --address ... --hours ... --phone ...")
    elif args.action == "remove":
        if not remove_office(engine, args.slug):
            raise CommandError(f"office: no office with slug '{args.slug}'")
        out(f"office {args.slug} removed")
    elif args.action == "import":
        offices = read_offices(Path(args.file))
        added, updated = write_offices(engine, offices)
        out(f"{args.file}: {len(offices)} offices read; added {added}, updated {updated}")
    elif args.action == "export":
        export_offices(load_offices(engine), args.file)
    return EXIT_OK


def _office(context: Context, slug: str) -> OfficeInfo:
    office = next((office for office in load_offices(context.app.engine) if office.slug == slug), None)
    if office is None:
        raise CommandError(f"unknown office '{slug}' (tthc office list shows them)")
    return office


def _title(context: Context, code: str) -> str:
    info = load_procedure(context.app.engine, code)
    if info is None:
        raise CommandError(f"unknown procedure code '{code}'")
    return info.title


def deep_link(context: Context, code: str | None, office: str | None, target: str = "telegram") -> str:
    """The link a QR code or a poster opens (checked: the procedure and the office exist)."""
    from qr.links import PayloadError, encode_payload, telegram_link

    settings = context.settings
    if code:
        _title(context, code)
    if office:
        _office(context, office)
    if target == "auto":
        target = "web" if settings.public_url or not settings.telegram_bot_username else "telegram"
    if target == "zalo":  # no Zalo link opens a chat with a code: the landing page shows it ("Hỏi trên Zalo")
        target = "web"
    if target == "web":
        if not settings.public_url:
            raise CommandError(
                "set TTHC_PUBLIC_URL (the public address of the web server, e.g. https://tthc.example.gov.vn) for "
                "QR codes that open the web page, or TTHC_TELEGRAM_BOT_USERNAME for codes that open Telegram"
            )
        base = settings.public_url.rstrip("/")
        return f"{base}/p/{code}" + (f"?o={office}" if office else "") if code else f"{base}/o/{office}"
    if not settings.telegram_bot_username:
        raise CommandError("set TTHC_TELEGRAM_BOT_USERNAME (the bot's @username) to make Telegram links")
    try:
        return telegram_link(settings.telegram_bot_username, encode_payload(code, office))
    except PayloadError as error:
        raise CommandError(str(error)) from None


def link_command(context: Context) -> int:
    """`tthc link`: the Telegram deep link."""
    args = context.args
    if not args.code and not args.office:
        raise CommandError("link: give a procedure CODE, --office SLUG, or both")
    out(deep_link(context, args.code, args.office))
    return EXIT_OK


def qr_command(context: Context) -> int:
    """`tthc qr`: a PNG (with a caption) or SVG QR code."""
    from qr.render import qr_png, qr_svg

    args = context.args
    if not args.code and not args.office:
        raise CommandError("qr: give a procedure CODE, --office SLUG, or both")
    link = deep_link(context, args.code, args.office, args.target)
    fmt = args.format or ("svg" if args.out.lower().endswith(".svg") else "png")
    if args.caption is not None:
        caption = args.caption
    elif args.code:
        caption = _title(context, args.code)
    else:
        caption = _office(context, args.office).name
    target = Path(args.out)
    try:
        if fmt == "svg":
            target.write_text(qr_svg(link), encoding="utf-8")
        else:
            target.write_bytes(qr_png(link, caption or None))
    except OSError as error:
        raise CommandError(f"{target}: cannot write ({error.strerror or error})") from None
    out(f"{target}: {link}")
    return EXIT_OK


def poster_command(context: Context) -> int:
    """`tthc poster`: an A4 PDF of QR codes for an office."""
    from bot.texts import POSTER
    from qr.links import short_path
    from qr.poster import PosterItem, PosterOffice, PosterWords, render_poster

    args = context.args
    office = _office(context, args.office)
    if args.codes:
        codes = [code.strip() for code in args.codes.split(",") if code.strip()]
    else:
        codes = most_asked(context.app.engine, office.slug) or list(context.app.catalog.popular[:6])
    if not codes:
        raise CommandError("poster: no procedures")
    public = (context.settings.public_url or "").rstrip("/")
    # The link to type under each code: short, on the web server, when it has a public address.
    short = public.split("://", 1)[-1]
    items = [
        PosterItem(
            _title(context, code),
            code,
            deep_link(context, code, office.slug, args.target),
            f"{short}{short_path(code)}" if public else "",
        )
        for code in codes
    ]
    poster_office = PosterOffice(office.name, office.address, office.hours, office.phone)
    try:
        pages = render_poster(poster_office, items, Path(args.out), PosterWords(**POSTER))
    except OSError as error:
        raise CommandError(f"{args.out}: cannot write ({error.strerror or error})") from None
    out(f"{args.out}: {len(items)} procedures on {pages} page(s)")
    return EXIT_OK


def stats_command(context: Context) -> int:
    """`tthc stats`: the period's questions, answered share, top unanswered, QR opens."""
    args, app = context.args, context.app
    since = texts.local_days_start(args.days)  # the period stats_text counts
    out(plain(app.stats_text(args.days)))
    out()
    out(f"QR and deep-link opens in the last {args.days} day(s):")
    rows = deeplink_opens(app.engine, since)
    titles = {info.code: info.title for info in app.index.procedures}
    for office, code, count in rows:
        out(f"  {count:5d}  {office or '(no office)':<24} {code or '-':<10} {titles.get(code, '-')}")
    if not rows:
        out("  (none)")
    return EXIT_OK
