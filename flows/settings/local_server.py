"""A standing local Prefect server that command-line flow runs reuse: `newsdesk server start|stop|status`.

Without a configured server (`PREFECT_API_URL`), Prefect starts a temporary server for every process that
runs a flow (~8-15 s). `newsdesk server start` starts `prefect server start` once, detached, on 127.0.0.1 and
records its URL and process id in the Prefect home; the flow-starting commands use it while it answers its
health check. Prefect's own `--background` mode is not used: it sends the server's output to a pipe nobody
reads (a long-lived server would block once it is full), records no port and returns before the server is up.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

STATE_FILE = "newsdesk-server.json"
LOG_FILE = "newsdesk-server.log"
DEFAULT_PORT = 4200
HOST = "127.0.0.1"
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 15.0
HEALTH_TIMEOUT_S = 2.0


class ServerError(Exception):
    """A local server that could not be started or stopped, said in one line."""


@dataclass(frozen=True)
class LocalServer:
    """The server `newsdesk server start` recorded: its API URL, process id and log file."""

    url: str
    pid: int
    log: str


def prefect_home() -> Path:
    """The Prefect home folder of the current settings (PREFECT_HOME, default ~/.prefect)."""
    from prefect.settings import get_current_settings

    return Path(get_current_settings().home).expanduser()


def read_recorded(home: Path) -> LocalServer | None:
    """The server recorded in `home`, or None."""
    try:
        record = json.loads((home / STATE_FILE).read_text(encoding="utf-8"))
        return LocalServer(url=str(record["url"]), pid=int(record["pid"]), log=str(record.get("log", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_healthy(url: str, timeout_s: float = HEALTH_TIMEOUT_S) -> bool:
    """True when the Prefect API at `url` answers its health check."""
    try:
        return httpx.get(f"{url}/health", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def running_server_url(home: Path | None = None) -> str | None:
    """The API URL of the recorded local server when it answers, else None."""
    recorded = read_recorded(home or prefect_home())
    if recorded is None or not is_healthy(recorded.url):
        return None
    return recorded.url


def check_port_free(port: int) -> None:
    """Refuse a port that something on 127.0.0.1 already listens on."""
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise ServerError(f"port {port} on {HOST} is in use; choose another with --port") from error


def start_server(port: int = DEFAULT_PORT, home: Path | None = None,
                 timeout_s: float = START_TIMEOUT_S) -> tuple[LocalServer, bool]:
    """Start a detached `prefect server start`, wait until it answers; (server, False) if one already runs."""
    home = home or prefect_home()
    recorded = read_recorded(home)
    if recorded is not None and is_healthy(recorded.url):
        return recorded, False
    check_port_free(port)
    home.mkdir(parents=True, exist_ok=True)
    log = home / LOG_FILE
    env = {**os.environ, "PREFECT_HOME": str(home)}
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", HOST, "--port", str(port)]
    with log.open("ab") as output:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                   env=env, start_new_session=True)
    server = LocalServer(url=f"http://{HOST}:{port}/api", pid=process.pid, log=str(log))
    (home / STATE_FILE).write_text(json.dumps(asdict(server)), encoding="utf-8")
    wait_until_ready(server, process, timeout_s)
    return server, True


def wait_until_ready(server: LocalServer, process: subprocess.Popen, timeout_s: float) -> None:
    """Poll the health check until it answers; stop the server and explain when it exits or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if is_healthy(server.url):
            return
        if process.poll() is not None:
            break
        time.sleep(0.5)
    stop_process_group(server.pid)
    Path(server.log).parent.joinpath(STATE_FILE).unlink(missing_ok=True)
    state = "exited" if process.poll() is not None else f"did not answer within {timeout_s:.0f} s"
    raise ServerError(f"the Prefect server {state}; see {server.log}")


def is_prefect_server(pid: int) -> bool:
    """True when process `pid` is alive and runs `prefect server start` (guards against a reused pid)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"prefect" in command and b"server" in command


def is_alive(pid: int) -> bool:
    """True while `pid` runs (reaping it first when it is our own exited child)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_process_group(pid: int) -> None:
    """SIGTERM the server's process group (twice if need be), then SIGKILL."""
    for sent in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sent)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            if not is_alive(pid):
                return
            time.sleep(0.2)


def stop_server(home: Path | None = None) -> LocalServer | None:
    """Stop the recorded server and forget it; None when none was recorded."""
    home = home or prefect_home()
    recorded = read_recorded(home)
    if recorded is None:
        return None
    if is_prefect_server(recorded.pid):
        stop_process_group(recorded.pid)
    (home / STATE_FILE).unlink(missing_ok=True)
    return recorded
