"""`tthc bench --web`: the real server (`tthc run --workers N`) driven over loopback by many citizens, on SQLite
and on PostgreSQL, in one run.

The load comes from a separate process (`python -m bot.loadtest`, asyncio, one keep-alive HTTP/1.1 connection
per citizen and a few lines of HTTP, so the generator costs the server as little CPU as possible). Each
citizen holds a short conversation (a question, then a follow-up), leaves, and a new citizen (a new session
and a new address, passed as X-Forwarded-For by a trusted proxy) takes the place. Two scenarios per server:
citizens who read and think between messages (the target: p99 under 50 ms for 200 of them), and a fixed
number of clients that send again the moment they get an answer (the throughput the machine can give).
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

CONVERSATIONS = (
    ("làm giấy khai sinh cần gì", "còn lệ phí thì sao?"),
    ("đăng ký kết hôn ở đâu", "mất mấy ngày"),
    ("xin giấy xác nhận độc thân", "làm online được không"),
    ("chứng thực bản sao cccd bao nhiêu tiền", "cần mang gì"),
    ("đăng ký thường trú cho con", "các bước thế nào"),
    ("cho em hỏi làm lại giấy khai sinh bị mất", "nộp ở đâu ạ"),
    ("đăng ký hộ kinh doanh", "hết bao nhiêu tiền"),
    ("khai tử cho bố cần giấy tờ gì", "bao lâu thì có"),
)
WARM_UP_SECONDS = 0.5


@dataclass(frozen=True)
class Scenario:
    """A load: `clients` at once, each waiting `think` seconds (min, max) between messages (0: none)."""

    name: str
    clients: int
    think: tuple[float, float]
    seconds: float


@dataclass
class Result:
    """What one scenario measured."""

    requests: int
    errors: int
    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


# -- the load generator (its own process) --------------------------------------------------------------------


class Client:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for POST /api/chat."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, address: str) -> int:
        """POST and read the whole answer; its status (0 when the connection failed)."""
        for attempt in range(2):  # a connection the server closed is opened again once
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                assert self.reader is not None
                self.writer.write(
                    f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                    f"X-Forwarded-For: {address}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                head = await self.reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ")[1])
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                await self.reader.readexactly(int(headers.get("content-length", "0")))
                if headers.get("connection", "").lower() == "close":
                    self.close()
                return status
            except (OSError, asyncio.IncompleteReadError, ValueError):
                self.close()
                if attempt:
                    return 0
        return 0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _citizens(
    host: str, port: int, scenario: Scenario, slot: int, samples: list, errors: list, window: tuple[float, float]
) -> None:
    """One place in the queue: citizen after citizen, each a short conversation; requests started inside
    `window` (monotonic start, end) are measured."""
    measured_from, until = window
    rng = random.Random(slot)
    client = Client(host, port)
    visitor = 0
    low, high = scenario.think
    if high:  # each citizen starts somewhere in a thinking pause: the load is steady from the first second
        await asyncio.sleep(rng.uniform(0, (low + high) / 2))
    try:
        while time.monotonic() < until:
            visitor += 1
            session = f"bench-{slot}-{visitor}-{rng.randrange(1 << 30)}"
            address = f"10.{slot // 250 % 250}.{slot % 250}.{visitor % 250 + 1}"
            for text in rng.choice(CONVERSATIONS):
                body = json.dumps({"session_id": session, "text": text}).encode()
                started = time.monotonic()
                if started >= until:
                    return
                status = await client.post("/api/chat", body, address)
                if started >= measured_from:  # past the warm-up
                    samples.append(time.monotonic() - started)
                    if status != 200:
                        errors.append(status)
                if high:  # (a pause that would end after the run is cut short: nobody waits for it)
                    await asyncio.sleep(min(rng.uniform(low, high), max(0.0, until - time.monotonic())))
    finally:
        client.close()


async def generate(host: str, port: int, scenario: Scenario) -> Result:
    """Run one scenario against a server; latencies of requests started after the warm-up."""
    samples: list[float] = []
    errors: list[int] = []
    measured_from = time.monotonic() + WARM_UP_SECONDS
    until = measured_from + scenario.seconds
    await asyncio.gather(
        *(
            _citizens(host, port, scenario, slot, samples, errors, (measured_from, until))
            for slot in range(scenario.clients)
        )
    )
    samples.sort()

    def percentile(share: float) -> float:
        return round(samples[min(len(samples) - 1, int(len(samples) * share))] * 1000, 1) if samples else 0.0

    return Result(
        len(samples),
        len(errors),
        round(len(samples) / scenario.seconds, 1),
        percentile(0.50),
        percentile(0.95),
        percentile(0.99),
    )


# -- the conductor: servers, databases, scenarios ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(base: str, workers: int) -> bool:
    """Every worker has built its index (the metrics add the workers' builds up)."""
    try:
        with urllib.request.urlopen(base + "/metrics", timeout=2) as page:
            text = page.read().decode()
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("tthc_index_reloads_total "):
            return float(line.split()[1]) >= workers
    return False


@contextmanager
def running_server(database_url: str, workers: int, folder: Path) -> Iterator[tuple[str, int]]:
    """`tthc run --workers N` on a free port, ready; stopped afterwards."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("TTHC_")}
    env.update(
        TTHC_DATABASE_URL=database_url,
        TTHC_PORT=str(port),
        TTHC_TRUSTED_PROXIES="127.0.0.1",  # the generator plays the proxy: one address per citizen
        TTHC_SECRET_KEY="bench",
    )
    log = (folder / f"server-{workers}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--workers", str(workers)], env=env, cwd=folder, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 180
        while not _ready(f"http://127.0.0.1:{port}", workers):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {log.name}")
            time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _upgrade(database_url: str, folder: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TTHC_")}
    env["TTHC_DATABASE_URL"] = database_url
    done = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], env=env, cwd=folder, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode(errors="replace").strip())


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A throwaway database on the PostgreSQL server (dropped afterwards)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"tthc_bench_{os.getpid()}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_reachable(server_url: str) -> str | None:
    """None when a database can be created there, else why not."""
    from sqlalchemy import create_engine, text

    engine = create_engine(server_url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            if not connection.execute(
                text("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")
            ).scalar():
                return "its user may not create databases"
    except Exception as error:
        return f"unreachable ({error.__class__.__name__})"
    finally:
        engine.dispose()
    return None


def run_scenario(host: str, port: int, scenario: Scenario) -> Result:
    """The scenario, generated by a separate process (it must not share the server's CPU budget accounting)."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.loadtest", host, str(port), json.dumps(asdict(scenario))],
        capture_output=True,
        timeout=scenario.seconds + 120,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode(errors="replace").strip()[-2000:])
    return Result(**json.loads(done.stdout))


def web_bench(
    databases: Sequence[str],
    workers: Sequence[int],
    scenarios: Sequence[Scenario],
    postgres_url: str,
    progress=None,
) -> list[dict]:
    """Every scenario against every (database, workers); rows for the report. Skipped databases are rows too."""
    rows: list[dict] = []
    folder = Path(tempfile.mkdtemp(prefix="tthc-bench-"))
    try:
        for database in databases:
            if database == "postgresql":
                why = postgres_reachable(postgres_url)
                if why:
                    rows.append({"database": database, "skipped": f"PostgreSQL at {_safe(postgres_url)}: {why}"})
                    continue
            with _database(database, folder, postgres_url) as url:
                _upgrade(url, folder)
                for count in workers:
                    with running_server(url, count, folder) as (host, port):
                        for scenario in scenarios:
                            result = run_scenario(host, port, scenario)
                            row = {"database": database, "workers": count, "scenario": scenario.name, **asdict(result)}
                            rows.append(row)
                            if progress:
                                progress(row)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


@contextmanager
def _database(kind: str, folder: Path, postgres_url: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
    else:
        with postgres_database(postgres_url) as url:
            yield url


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def format_rows(rows: Sequence[dict]) -> list[str]:
    """The report as a table."""
    lines = [
        f"{'database':<11}{'workers':>8}  {'scenario':<34}{'requests':>9}{'req/s':>9}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
    ]
    for row in rows:
        if "skipped" in row:
            lines.append(f"{row['database']:<11}skipped: {row['skipped']}")
            continue
        lines.append(
            f"{row['database']:<11}{row['workers']:>8}  {row['scenario']:<34}{row['requests']:>9}"
            f"{row['per_second']:>9}{row['p50_ms']:>9}{row['p95_ms']:>9}{row['p99_ms']:>9}{row['errors']:>8}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bot.loadtest HOST PORT SCENARIO-JSON`: generate one scenario's load, print its result."""
    parser = argparse.ArgumentParser(prog="python -m bot.loadtest")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("scenario")
    args = parser.parse_args(argv)
    spec = json.loads(args.scenario)
    scenario = Scenario(spec["name"], int(spec["clients"]), tuple(spec["think"]), float(spec["seconds"]))
    result = asyncio.run(generate(args.host, args.port, scenario))
    sys.stdout.write(json.dumps(asdict(result)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
