"""The local AWS endpoint: a moto server on 127.0.0.1 with the resources the local default needs.

``LocalAws(settings).up()`` starts the server as a detached background process (pidfile and log
under the local home), waits until it answers, then idempotently creates the Kinesis stream and
the SQS dead-letter queue. The landing store is a local directory in ``local``, so no bucket is
needed. moto keeps its state in memory: a restarted server has lost the stream and its records,
and ``up`` creates the resources again.

Run as ``python -m streaming.local_aws --host H --port P`` it *is* that server process.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streaming.aws_clients import client
from streaming.settings import Settings

SERVER_MODULE = "streaming.local_aws"
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
class Status:
    endpoint: str
    answering: bool
    pid: int | None
    """The server process this home started, if it is alive."""
    resources: Resources | None

    @property
    def managed(self) -> bool:
        return self.pid is not None


def refuse_aws(settings: Settings) -> None:
    if settings.env != "local":
        raise LocalAwsError(
            f"the local AWS endpoint is for CLICKSTREAM_ENV=local only (env is {settings.env!r})"
        )


class LocalAws:
    """Start, stop and inspect the moto server of one local home."""

    def __init__(self, settings: Settings) -> None:
        refuse_aws(settings)
        self.settings = settings
        self.pidfile = settings.home / "run" / "local-aws.pid"
        self.logfile = settings.log_dir / "local-aws.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._probe: Any = None

    @property
    def endpoint(self) -> str:
        endpoint = self.settings.aws_endpoint_url
        assert endpoint is not None  # refuse_aws guarantees env == local
        return endpoint

    def is_up(self) -> bool:
        if self._probe is None:
            self._probe = probe_client(self.settings)
        return answers(self.settings, self._probe)

    def running_pid(self) -> int | None:
        """The pid of the server this home started, if that process is still alive."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _is_local_aws_process(pid) else None

    def up(self) -> Status:
        """Start the server unless it answers already, then make sure the resources exist."""
        if not self.is_up():
            self._start()
        ensure_resources(self.settings)
        return self.status()

    def down(self) -> bool:
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

    def status(self) -> Status:
        answering = self.is_up()
        return Status(
            endpoint=self.endpoint,
            answering=answering,
            pid=self.running_pid(),
            resources=describe_resources(self.settings) if answering else None,
        )

    def _start(self) -> None:
        if self.running_pid() is not None:
            raise LocalAwsError(
                f"the local AWS server (pid {self.running_pid()}) is running but does not answer "
                f"on {self.endpoint}; see {self.logfile} or run `clickstream local down`"
            )
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        local = self.settings.local_aws
        command = [
            sys.executable,
            "-m",
            SERVER_MODULE,
            "--host",
            local.host,
            "--port",
            str(local.port),
        ]
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
                    f"the local AWS server exited with status {process.returncode} while "
                    f"starting on {self.endpoint}:\n{_tail(self.logfile)}"
                )
            if self.is_up():
                return
            time.sleep(0.1)
        self.down()
        raise LocalAwsError(
            f"the local AWS server did not answer on {self.endpoint} within "
            f"{STARTUP_SECONDS:.0f} s:\n{_tail(self.logfile)}"
        )


@contextmanager
def local_aws_running(settings: Settings) -> Iterator[LocalAws]:
    """The local endpoint up for the duration; stopped afterwards only if started here."""
    local = LocalAws(settings)
    started_here = not local.is_up()
    local.up()
    try:
        yield local
    finally:
        if started_here:
            local.down()


def probe_client(settings: Settings) -> Any:
    """A Kinesis client that gives up fast: for asking whether the endpoint answers."""
    return client(
        settings,
        "kinesis",
        connect_timeout=0.5,
        read_timeout=2,
        retries={"max_attempts": 1, "mode": "standard"},
    )


def answers(settings: Settings, probe: Any = None) -> bool:
    """Whether an AWS API answers on the configured local endpoint."""
    try:
        (probe or probe_client(settings)).list_streams(Limit=1)
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


def _is_local_aws_process(pid: int) -> bool:
    """True if ``pid`` is alive and is a local AWS server (not a recycled pid)."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return SERVER_MODULE.encode() in arguments and pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """True for a live process (a zombie, exited but not yet reaped, is not alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[-1].startswith("Z"))


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


# --- the server process ----------------------------------------------------------------------


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
