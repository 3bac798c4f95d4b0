"""`tthc run --workers N`: N server processes on one port, kept running by a small supervisor.

Every worker is a whole `tthc run` of its own (it builds the application, the index and its channels) and
binds the port with SO_REUSEPORT, so the kernel spreads new connections over the workers evenly. What must
happen once per deployment (polling Telegram, the daily purge) is decided between them by leases in the
database, exactly as between machines. The supervisor prepares the database first (so N workers never race
to create or seed it), gives the workers one directory for their metrics (prometheus-client's multiprocess
mode), restarts a worker that dies, and stops them all on SIGTERM or Ctrl-C.
"""

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from types import FrameType

from bot.observability import MULTIPROCESS_ENV

logger = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 30.0  # a worker finishes its requests and hands its leases over within this
EARLY_DEATH_SECONDS = 15.0  # a worker that dies this soon is misconfigured (port taken...): give up, do not loop
RESTART_PAUSE_SECONDS = 1.0


class Supervisor:
    """Starts, watches and stops the worker processes."""

    def __init__(self, workers: int, arguments: Sequence[str] = ()) -> None:
        self.count = workers
        self.arguments = list(arguments)  # global options to pass on (--verbose)
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.started: dict[int, float] = {}
        self.stopping = False
        self.metrics_dir = ""

    def command(self) -> list[str]:
        """How one worker is started."""
        return [sys.executable, "-m", "bot", *self.arguments, "run", "--worker"]

    def start_one(self) -> None:
        """Start a worker."""
        env = {**os.environ, MULTIPROCESS_ENV: self.metrics_dir}
        process = subprocess.Popen(self.command(), env=env)
        self.processes[process.pid] = process
        self.started[process.pid] = time.monotonic()
        logger.info("worker %d started", process.pid)

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        """Until SIGTERM or SIGINT: keep `count` workers running. Returns the exit code."""
        self.metrics_dir = tempfile.mkdtemp(prefix="tthc-metrics-")
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        code = 0
        try:
            for _ in range(self.count):
                self.start_one()
            while not self.stopping:
                time.sleep(0.2)
                for pid, process in list(self.processes.items()):
                    status = process.poll()
                    if status is None or self.stopping:
                        continue
                    del self.processes[pid]
                    self._forget_metrics(pid)
                    if time.monotonic() - self.started.pop(pid) < EARLY_DEATH_SECONDS:
                        logger.error("worker %d stopped at start-up (exit %s): stopping the others", pid, status)
                        self.stopping, code = True, 1
                        break
                    logger.error("worker %d stopped (exit %s): starting another", pid, status)
                    time.sleep(RESTART_PAUSE_SECONDS)
                    self.start_one()
        finally:
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            shutil.rmtree(self.metrics_dir, ignore_errors=True)
        return code

    def stop_all(self) -> None:
        """SIGTERM to every worker; SIGKILL to those still running after the grace period."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.error("worker %d did not stop in %.0f s: killing it", process.pid, STOP_GRACE_SECONDS)
                process.kill()
                process.wait()
        self.processes.clear()

    def _forget_metrics(self, pid: int) -> None:
        # A dead worker's gauges must not count as live; its counters stay in the totals.
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, self.metrics_dir)
