"""`make demo`, run as a new user runs it: in a fresh copy of the tree, stopped with Ctrl-C or a SIGTERM.

The demo was broken for days by a one-line slip in ``bin/demo`` that no test ran; this test runs the
README's first command itself: install, seed, serve, process a task in the background worker, and
leave no process behind when stopped.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.test_embedded_default import clean_environment

ROOT = Path(__file__).resolve().parents[2]

ENQUEUE = """
from customers.models import Customer
from touchpoints.outreach.outbox import message_enqueue
customer = Customer.objects.exclude(email="").order_by("pk").first()
message = message_enqueue(customer=customer, key="demo-test-ping", purpose="transactional",
                          subject="Ping", body="The demo worker is alive.")
print("MESSAGE", message.pk)
"""
STATUS = """
from touchpoints.outreach.models import OutboundMessage
print("STATUS", OutboundMessage.objects.get(key="demo-test-ping").status)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_copy(destination: Path) -> Path:
    """The tree as a clone has it (tracked and new files, nothing ignored: no .venv, no var/)."""
    listed = subprocess.run(  # noqa: S603
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    destination.mkdir()
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            target.chmod(source.stat().st_mode)
    return destination


def session_processes(session_id: int) -> list[str]:
    """The command lines of the live processes in a session (zombies are gone already)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # Fields after the command name (which may hold spaces) start after the last ")".
        fields = stat.rsplit(")", 1)[1].split()
        state, session = fields[0], int(fields[3])
        if session == session_id and state != "Z":
            found.append(f"{entry.name}: {cmdline.strip()}")
    return found


def wait_until(predicate, *, timeout: float, what: str, process: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if process.poll() is not None:
            pytest.fail(f"the demo exited ({process.returncode}) before {what}:\n{log.read_text()[-4000:]}")
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}:\n{log.read_text()[-4000:]}")


def get_json(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own local server
            return json.load(response)
    except (OSError, ValueError):
        return None


def log_in(base: str, username: str, password: str) -> str:
    """Log in through the login form as a person does; returns the page the login lands on."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{base}/accounts/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    request = urllib.request.Request(  # noqa: S310
        f"{base}/accounts/login/", data=data.encode(), headers={"Referer": f"{base}/accounts/login/"}
    )
    with opener.open(request, timeout=30) as response:
        return response.geturl() + "\n" + response.read().decode()


def demo_shell(tree: Path, env: dict[str, str], code: str) -> str:
    result = subprocess.run(  # noqa: S603 - the copy's own manage.py
        [str(tree / ".venv/bin/python"), "manage.py", "shell", "-v", "0", "-c", code],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def start_demo(tree: Path, env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(  # noqa: S603 - the README's command
            ["make", "demo", f"DEMO_PORT={port}"],  # noqa: S607
            cwd=tree,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session, as a terminal gives it; Ctrl-C signals the whole group
        )


def stopped_cleanly(process: subprocess.Popen, log: Path) -> None:
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the demo did not stop within 60 s:\n{log.read_text()[-3000:]}")
    deadline = time.monotonic() + 30
    while session_processes(process.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = session_processes(process.pid)
    if left:
        os.killpg(process.pid, signal.SIGKILL)
    assert left == [], f"processes left behind after the demo stopped: {left}"


@pytest.mark.demo
def test_make_demo_serves_logs_in_runs_the_worker_and_stops_without_leaving_a_process(tmp_path):
    # given: a fresh copy of the tree, without the project's variables, as after `git clone`
    tree = fresh_copy(tmp_path / "tsunagu")
    env = clean_environment(DEMO_CUSTOMERS="120")
    env.pop("DJANGO_SETTINGS_MODULE")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "demo.log"

    # when: the README's first command runs
    demo = start_demo(tree, env, port, log)
    try:
        # then: it installs, seeds and serves, and /healthz answers ok
        health = wait_until(
            lambda: (h := get_json(f"{base}/healthz")) and h.get("status") == "ok" and h,
            timeout=600,
            what="/healthz to answer ok",
            process=demo,
            log=log,
        )
        assert health["database"] == "ok" and health["broker"] == "ok"
        assert "tsunagu-demo" in log.read_text(), "the demo logins are printed"

        # and: a demo user logs in through the form and lands on the home page, in Japanese (the default)
        landed = log_in(base, "manager", "tsunagu-demo")
        assert landed.startswith(f"{base}/\n"), landed[:300]
        assert "ログアウト" in landed or "Log out" in landed

        # and: the background worker sends a message put in the outbox
        shell_env = {**env, "DJANGO_DEBUG": "true", "TSUNAGU_VAR_DIR": str(tree / "var")}
        assert "MESSAGE" in demo_shell(tree, shell_env, ENQUEUE)
        wait_until(
            lambda: "STATUS sent" in demo_shell(tree, shell_env, STATUS),
            timeout=120,
            what="the worker to send the queued message",
            process=demo,
            log=log,
        )

        # when: Ctrl-C in the terminal (SIGINT to the whole foreground group)
        os.killpg(demo.pid, signal.SIGINT)
        # then: the server and the worker are gone
        stopped_cleanly(demo, log)
        assert get_json(f"{base}/healthz") is None

        # when: it is started again on the seeded database and stopped by a SIGTERM to the script alone,
        # as a process manager or `kill PID` does
        demo = start_demo(tree, env, port, log)
        wait_until(
            lambda: (h := get_json(f"{base}/healthz")) and h.get("status") == "ok",
            timeout=300,
            what="/healthz to answer ok on the second start",
            process=demo,
            log=log,
        )
        script = wait_until(
            lambda: [p for p in session_processes(demo.pid) if "bin/demo" in p],
            timeout=10,
            what="the bin/demo process",
            process=demo,
            log=log,
        )
        os.kill(int(script[0].split(":")[0]), signal.SIGTERM)
        # then: again nothing is left
        stopped_cleanly(demo, log)

        # when: the script itself is killed outright (kill -9: no trap runs), the server and worker live on...
        demo = start_demo(tree, env, port, log)
        wait_until(
            lambda: (h := get_json(f"{base}/healthz")) and h.get("status") == "ok",
            timeout=300,
            what="/healthz to answer ok on the third start",
            process=demo,
            log=log,
        )
        script = [p for p in session_processes(demo.pid) if "bin/demo" in p]
        wait_until(lambda: (tree / "var/celery.pid").exists(), timeout=60, what="the worker", process=demo, log=log)
        os.kill(int(script[0].split(":")[0]), signal.SIGKILL)
        demo.wait(timeout=30)
        assert get_json(f"{base}/healthz") is not None
        # ...until `make demo-stop`, as the README says, stops them
        stop = subprocess.run(  # noqa: S603
            ["make", "demo-stop"],  # noqa: S607
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert stop.returncode == 0, stop.stdout + stop.stderr
        stopped_cleanly(demo, log)
    finally:
        if demo.poll() is None or session_processes(demo.pid):
            os.killpg(demo.pid, signal.SIGKILL)
