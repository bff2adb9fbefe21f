"""The local AWS APIs: two servers on 127.0.0.1 with the resources the local default needs.

- **Kinesis**: kinesalite (``streaming/kinesis_engine.js``, installed from the npm lockfile),
  which keeps the stream's records in LevelDB under ``<home>/kinesis``: a record Kinesis
  acknowledged survives ``kill -9`` of the engine and is there after ``clickstream local up``.
- **SQS, STS, Glue**: a moto server (in memory; the dead-letter queue is created again by ``up``).

``LocalAws(settings).up()`` starts each server that does not answer as a detached background
process (pidfile and log under the local home), waits until it answers, then idempotently
creates the Kinesis stream and the SQS dead-letter queue. ``docs/local-stream.md`` says what
the local engine emulates and what it does not.

Run as ``python -m streaming.local_aws --host H --port P`` it *is* the moto server process.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from streaming.contracts.aws_clients import client
from streaming.contracts.settings import Settings

SERVER_MODULE = "streaming.local_aws"
KINESIS_ENGINE = Path(__file__).with_name("kinesis_engine.js")
NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
STARTUP_SECONDS = 30.0
STOP_SECONDS = 10.0


class LocalAwsError(RuntimeError):
    """The local endpoint cannot be started, reached or used."""


@dataclass(frozen=True)
class Resources:
    stream: str | None
    """``ACTIVE`` (or another stream status), None when the stream does not exist."""
    stream_shards: int
    dlq_url: str | None


@dataclass(frozen=True)
class ServerStatus:
    name: str
    endpoint: str
    answering: bool
    pid: int | None
    """The server process this home started, if it is alive."""


@dataclass(frozen=True)
class Status:
    servers: tuple[ServerStatus, ...]
    resources: Resources | None

    @property
    def answering(self) -> bool:
        return all(server.answering for server in self.servers)

    @property
    def managed(self) -> bool:
        return any(server.pid is not None for server in self.servers)


def refuse_aws(settings: Settings) -> None:
    if settings.env != "local":
        raise LocalAwsError(
            f"the local AWS endpoint is for CLICKSTREAM_ENV=local only (env is {settings.env!r})"
        )


class BackgroundServer:
    """One detached server process of a local home: started, probed, stopped by pidfile."""

    def __init__(
        self,
        name: str,
        service: str,
        command: Callable[[], list[str]],
        settings: Settings,
        *,
        marker: str,
    ) -> None:
        self.name = name
        self.service = service
        """An AWS service the server answers for, asked to tell whether it is up."""
        self.endpoint = _required(settings.endpoint_url(service))
        self._marker = marker.encode()
        self._command = command
        self._probe: Any = None
        self.settings = settings
        self.pidfile = settings.home / "run" / f"{name}.pid"
        self.logfile = settings.log_dir / f"{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def answers(self) -> bool:
        if self._probe is None:
            self._probe = probe_client(self.settings, self.service)
        return answers(self.settings, self.service, self._probe)

    def running_pid(self) -> int | None:
        """The pid of the server this home started, if that process is still alive."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if self._is_ours(pid) else None

    def status(self) -> ServerStatus:
        return ServerStatus(self.name, self.endpoint, self.answers(), self.running_pid())

    def start(self) -> None:
        if self.running_pid() is not None:
            raise LocalAwsError(
                f"the local {self.name} server (pid {self.running_pid()}) is running but does "
                f"not answer on {self.endpoint}; see {self.logfile} or run `clickstream local down`"
            )
        command = self._command()
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        with self.logfile.open("ab") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                env=os.environ | self.settings.process_environment(),
            )
        self._process = process
        self.pidfile.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.pidfile.unlink(missing_ok=True)
                raise LocalAwsError(
                    f"the local {self.name} server exited with status {process.returncode} "
                    f"while starting on {self.endpoint}:\n{_tail(self.logfile)}"
                )
            if self.answers():
                return
            time.sleep(0.1)
        self.stop()
        raise LocalAwsError(
            f"the local {self.name} server did not answer on {self.endpoint} within "
            f"{STARTUP_SECONDS:.0f} s:\n{_tail(self.logfile)}"
        )

    def stop(self) -> bool:
        """Stop the server this home started; True if a process was stopped."""
        pid = self.running_pid()
        stopped = False
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            if not _wait_for_exit(pid, STOP_SECONDS):
                os.kill(pid, signal.SIGKILL)
                _wait_for_exit(pid, STOP_SECONDS)
            stopped = True
        if self._process is not None:
            self._process.wait(timeout=STOP_SECONDS)  # started here: reap it
            self._process = None
        self.pidfile.unlink(missing_ok=True)
        return stopped

    def _is_ours(self, pid: int) -> bool:
        """True if ``pid`` is alive and runs this server's command (not a recycled pid)."""
        try:
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return any(self._marker in argument for argument in arguments) and pid_alive(pid)


class LocalAws:
    """Start, stop and inspect the local AWS servers of one home."""

    def __init__(self, settings: Settings) -> None:
        refuse_aws(settings)
        self.settings = settings
        local = settings.local_aws
        self.kinesis = BackgroundServer(
            "kinesis",
            "kinesis",
            lambda: kinesis_engine_command(settings),
            settings,
            marker=KINESIS_ENGINE.name,
        )
        self.moto = BackgroundServer(
            "moto",
            "sqs",
            lambda: [
                sys.executable,
                "-m",
                SERVER_MODULE,
                "--host",
                local.host,
                "--port",
                f"{local.port}",
            ],
            settings,
            marker=SERVER_MODULE,
        )
        self.servers = (self.kinesis, self.moto)

    @property
    def endpoint(self) -> str:
        return ", ".join(f"{server.name} {server.endpoint}" for server in self.servers)

    def is_up(self) -> bool:
        return all(server.answers() for server in self.servers)

    def running_pid(self) -> int | None:
        """A pid of a server this home started, if one is alive."""
        for server in self.servers:
            pid = server.running_pid()
            if pid is not None:
                return pid
        return None

    def up(self) -> Status:
        """Start each server unless it answers already, then make sure the resources exist."""
        for server in self.servers:
            if not server.answers():
                server.start()
        ensure_resources(self.settings)
        return self.status()

    def down(self) -> bool:
        """Stop the servers this home started; True if a process was stopped."""
        stopped = [server.stop() for server in self.servers]
        return any(stopped)

    def status(self) -> Status:
        servers = tuple(server.status() for server in self.servers)
        answering = all(server.answering for server in servers)
        return Status(servers, describe_resources(self.settings) if answering else None)


def kinesis_engine_command(settings: Settings) -> list[str]:
    node = shutil.which("node")
    if node is None:
        raise LocalAwsError(
            "the local stream needs Node.js (18 or later): install it, e.g. "
            "`apt-get install nodejs npm`, then run `make` again"
        )
    if not (NODE_MODULES / "kinesalite").is_dir():
        raise LocalAwsError(
            f"the local stream engine is not installed in {NODE_MODULES}: run `npm ci` in "
            f"{NODE_MODULES.parent} (`make demo`, `make dev` and `make test` do it)"
        )
    local = settings.local_aws
    settings.local_stream_dir.mkdir(parents=True, exist_ok=True)
    return [
        node,
        str(KINESIS_ENGINE),
        local.host,
        str(local.kinesis_port),
        str(settings.local_stream_dir),
    ]


@contextmanager
def local_aws_running(settings: Settings) -> Iterator[LocalAws]:
    """The local servers up for the duration; those started here are stopped afterwards."""
    local = LocalAws(settings)
    started = [server for server in local.servers if not server.answers()]
    local.up()
    try:
        yield local
    finally:
        for server in started:
            server.stop()


ERASE_RECORDS_PATH = "/clickstream/erase-records"


def erase_stream_records(settings: Settings, tokens: Sequence[bytes]) -> int:
    """Delete from the running local stream every record whose data holds one of ``tokens``
    (64 hex digits each), and compact its store so no file keeps their bytes; the count."""
    local = settings.local_aws
    url = f"http://{local.host}:{local.kinesis_port}{ERASE_RECORDS_PATH}"
    body = {"tokens": [token.decode() for token in tokens]}
    try:
        response = httpx.post(url, json=body, timeout=STARTUP_SECONDS * 10)
    except httpx.HTTPError as error:
        raise LocalAwsError(f"the local stream at {url} did not answer: {error}") from error
    if response.status_code != 200:
        raise LocalAwsError(f"the local stream refused to erase records: {response.text}")
    return int(response.json()["records_removed"])


def probe_client(settings: Settings, service: str = "kinesis") -> Any:
    """A client that gives up fast: for asking whether an endpoint answers."""
    return client(
        settings,
        service,
        connect_timeout=0.5,
        read_timeout=2,
        retries={"max_attempts": 1, "mode": "standard"},
    )


def answers(settings: Settings, service: str = "kinesis", probe: Any = None) -> bool:
    """Whether the local server of ``service`` answers."""
    probe = probe or probe_client(settings, service)
    try:
        if service == "kinesis":
            probe.list_streams(Limit=1)
        else:
            probe.list_queues(MaxResults=1)
    except Exception:
        return False
    return True


def ensure_resources(settings: Settings) -> Resources:
    """Create the stream and the dead-letter queue if they do not exist (idempotent)."""
    refuse_aws(settings)
    kinesis = client(settings, "kinesis")
    with suppress(kinesis.exceptions.ResourceInUseException):
        kinesis.create_stream(
            StreamName=settings.stream_name, ShardCount=settings.local_aws.stream_shards
        )
    kinesis.get_waiter("stream_exists").wait(
        StreamName=settings.stream_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
    )
    sqs = client(settings, "sqs")
    sqs.create_queue(QueueName=settings.dlq_name)
    return describe_resources(settings, kinesis, sqs)


def describe_resources(settings: Settings, kinesis: Any = None, sqs: Any = None) -> Resources:
    kinesis = kinesis or client(settings, "kinesis")
    try:
        summary = kinesis.describe_stream_summary(StreamName=settings.stream_name)
    except kinesis.exceptions.ResourceNotFoundException:
        stream, shards = None, 0
    else:
        description = summary["StreamDescriptionSummary"]
        stream, shards = description["StreamStatus"], description["OpenShardCount"]
    sqs = sqs or client(settings, "sqs")
    try:
        dlq_url = sqs.get_queue_url(QueueName=settings.dlq_name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        dlq_url = None
    return Resources(stream=stream, stream_shards=shards, dlq_url=dlq_url)


def pid_alive(pid: int) -> bool:
    """True for a live process (a zombie, exited but not yet reaped, is not alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return not stat.read_text().split(") ", 1)[-1].startswith("Z")
    except OSError:
        return False


def _required(endpoint: str | None) -> str:
    assert endpoint is not None  # refuse_aws guarantees env == local
    return endpoint


def _wait_for_exit(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


# --- the moto server process -----------------------------------------------------------------


def serve(host: str, port: int) -> None:
    """Run a moto server until SIGTERM or SIGINT, without per-request logging."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    for name in ("werkzeug", "moto"):
        logging.getLogger(name).setLevel(logging.WARNING)
    application = DomainDispatcherApplication(create_backend_app)
    server = make_server(host, port, application, threaded=True, request_handler=MotoRequestHandler)
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    serving = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="local-aws", daemon=True
    )
    serving.start()
    print(f"local AWS endpoint listening on http://{host}:{port}", flush=True)
    stop.wait()
    server.shutdown()
    serving.join(timeout=STOP_SECONDS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {SERVER_MODULE}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args(argv)
    serve(arguments.host, arguments.port)


if __name__ == "__main__":
    main()
