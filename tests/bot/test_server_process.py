"""`tthc run` as a process: what the CLI changes while it runs, the running server sees."""

import os
import subprocess
import sys
import time

import pytest

from tests.bot.processes import free_port, status


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = {**os.environ, "TTHC_DATABASE_URL": f"sqlite:///{tmp_path / 'tthc.db'}", "TTHC_PORT": str(port)}
    env.pop("TTHC_TELEGRAM_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while status(base + "/healthz") != 200:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[0].decode()
        time.sleep(0.2)
    yield base, env, tmp_path
    process.terminate()
    output = process.communicate(timeout=20)[0].decode(errors="replace")
    assert "Traceback" not in output, output


def tthc(env, cwd, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, timeout=120)


def test_an_office_added_by_the_cli_is_served_within_seconds(server):
    base, env, cwd = server
    assert status(base + "/o/xa-moi") == 404
    added = tthc(env, cwd, "office", "add", "xa-moi", "--name", "Trung tâm Phục vụ hành chính công xã Mới")
    assert added.returncode == 0, added.stderr
    started = time.monotonic()
    while status(base + "/o/xa-moi") != 200:
        assert time.monotonic() - started < 10, "the running server did not see the new office within 10 s"
        time.sleep(0.2)
