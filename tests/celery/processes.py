"""Real Celery worker and beat processes, a private Redis, for the delivery-guarantee tests and benchmarks.

Each process runs in its own session, so ``kill -9`` takes the whole worker (main process and pool
children) at once, as a crashed machine would.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parents[2]
CELERY = str(BASE_DIR / ".venv" / "bin" / "celery")


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for the database Django is connected to (the pytest test database)."""
    user = quote(settings_dict.get("USER") or "")
    password = quote(settings_dict.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def wait_for(predicate: Callable[[], object], *, timeout: float, interval: float = 0.2, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or predicate}")
        time.sleep(interval)


class Process:
    def __init__(self, name: str, args: list[str], *, env: dict[str, str], log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (kept open for the process's life)
        self.popen = subprocess.Popen(  # noqa: S603 (our own venv's celery)
            args, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=BASE_DIR, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> None:
        """SIGKILL to the whole process group: no cleanup, no acknowledgement, as in a crash."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
        self._log.close()

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self._log.close()

    def pool_pids(self) -> list[int]:
        """The worker's pool children (prefork), from /proc."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.pid:  # the parent pid, after the state field
                children.append(int(stat.parent.name))
        return children


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_worker(
    env: dict[str, str],
    log_dir: Path,
    *,
    name: str = "worker",
    concurrency: int = 2,
    pool: str = "prefork",
    ready_timeout: float = 60,
) -> Process:
    process = Process(
        name,
        [
            CELERY,
            "-A",
            "crm",
            "worker",
            "-l",
            "info",
            "-P",
            pool,
            f"--concurrency={concurrency}",
            "-O",
            "fair",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{name}-{os.getpid()}@%h",
        ],
        env=env,
        log_dir=log_dir,
    )
    wait_for(lambda: "ready." in process.log() or not process.alive(), timeout=ready_timeout, what=f"{name} ready")
    assert process.alive(), process.log()[-3000:]
    return process


def start_beat(env: dict[str, str], log_dir: Path, *, name: str = "beat") -> Process:
    schedule = log_dir / f"{name}-schedule"
    return Process(
        name,
        [
            CELERY,
            "-A",
            "crm",
            "beat",
            "-l",
            "info",
            "-S",
            "celery.beat:PersistentScheduler",
            "-s",
            str(schedule),
            "--max-interval",
            "1",
        ],
        env=env,
        log_dir=log_dir,
    )


class PrivateRedis:
    """A redis-server of our own on its own port (no persistence), so it can be stopped without
    disturbing anyone else's. A restart comes back empty, like a Redis restart without persistence."""

    def __init__(self, port: int, work_dir: Path):
        self.port = port
        self.work_dir = work_dir
        self.server = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        result = subprocess.run(  # noqa: S603
            [self.cli, "-p", str(self.port), "ping"], capture_output=True, text=True, check=False, timeout=5
        )
        return result.stdout.strip() == "PONG"

    def start(self) -> None:
        subprocess.run(  # noqa: S603
            [
                self.server,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--dir",
                str(self.work_dir),
                "--logfile",
                str(self.work_dir / f"redis-{self.port}.log"),
            ],
            check=True,
            timeout=10,
        )
        wait_for(self.ping, timeout=10, what=f"redis on {self.port}")

    def stop(self) -> None:
        subprocess.run(  # noqa: S603
            [self.cli, "-p", str(self.port), "shutdown", "nosave"], capture_output=True, check=False, timeout=10
        )
        wait_for(lambda: not self.ping(), timeout=10, what=f"redis on {self.port} to stop")
