"""The local stack: the local AWS servers, the HTTP ingest, the delivery, the real-time
consumer and the alert reader, as processes, kept running.

``make demo`` and ``make dev`` start it; each service runs as a child process of its own
(logs under the home's ``logs/``) and is waited for until it is ready. A supervisor thread then
keeps the stack up: a service that exits is started again (after a pause that grows while it
keeps dying young), and so is a local AWS server that stopped answering because its process
died; each restart is announced and written to ``logs/stack.log``. Nothing is lost by a
restart: the stream engine keeps its records on disk, the ingest answers 2xx only once the
stream acknowledged, and the readers resume from their checkpoints. ``stop`` sends SIGTERM
(delivery then flushes its buffers and checkpoints).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict, Unpack

import httpx

from streaming.contracts.settings import Settings
from streaming.local_aws import LocalAws, LocalAwsError, ensure_resources

READY_SECONDS = 60.0
STOP_SECONDS = 20.0
SUPERVISE_SECONDS = 0.5
YOUNG_SECONDS = 10.0
"""A service that dies sooner than this after its start waits longer before the next one."""
MAX_RESTART_PAUSE_SECONDS = 30.0


class LocalStackError(RuntimeError):
    """A service of the local stack did not start."""


@dataclass
class Service:
    name: str
    command: list[str]
    ready: str | None = None
    """An URL answering 200 once the service is ready."""
    ready_file: Path | None = None
    """A file the service writes once it is ready (removed before it starts)."""
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    restarts: int = 0
    started_at: float = 0.0
    restart_due: float | None = None


def announce(message: str) -> None:
    print(f"local stack: {message}", file=sys.stderr, flush=True)


@dataclass
class LocalStack:
    settings: Settings
    delivery_buffer_seconds: float = 5.0
    extra_services: list[Service] = field(default_factory=list)
    on_notice: Callable[[str], None] = announce
    services: list[Service] = field(default_factory=list)
    _aws: LocalAws | None = None
    _started_servers: list[str] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _supervisor: threading.Thread | None = None

    def start(self) -> None:
        self._aws = LocalAws(self.settings)
        self._started_servers = [
            server.name for server in self._aws.servers if not server.answers()
        ]
        self._aws.up()
        clickstream = str(Path(sys.executable).with_name("clickstream"))
        self.services = [
            Service(
                "ingest",
                [clickstream, "ingest", "serve"],
                ready=f"{self.settings.ingest_url}/healthz",
            ),
            Service(
                "delivery",
                [clickstream, "deliver", "--buffer-seconds", str(self.delivery_buffer_seconds)],
            ),
            Service(
                "realtime",
                [clickstream, "rt", "consume"],
                ready_file=self.settings.realtime_dir / "consumer.json",
            ),
            *self._alert_services(clickstream),
            *self.extra_services,
        ]
        try:
            for service in self.services:
                self._spawn(service)
            for service in self.services:
                self._wait_ready(service)
        except BaseException:
            self.stop()
            raise
        self._supervisor = threading.Thread(
            target=self._supervise, name="local-stack-supervisor", daemon=True
        )
        self._supervisor.start()

    def _alert_services(self, clickstream: str) -> list[Service]:
        """The alert reader, when alerts are enabled and there is a rule to evaluate."""
        if not (self.settings.alerts.enabled and self.settings.alerts.rules):
            return []
        return [
            Service(
                "alerts",
                [clickstream, "alerts", "run"],
                ready_file=self.settings.alerts_dir / "reader.json",
            )
        ]

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join()
        with self._lock:
            for service in reversed(self.services):
                process = service.process
                if process is None or process.poll() is not None:
                    continue
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if self._aws is not None:
                for server in self._aws.servers:
                    if server.name in self._started_servers:
                        server.stop()

    @property
    def restarts(self) -> dict[str, int]:
        return {service.name: service.restarts for service in self.services if service.restarts}

    # --- keeping it up ---------------------------------------------------------------------

    def _supervise(self) -> None:
        while not self._stopping.wait(SUPERVISE_SECONDS):
            with self._lock:
                if self._stopping.is_set():
                    return
                self._revive_servers()
                for service in self.services:
                    self._revive(service)

    def _revive_servers(self) -> None:
        assert self._aws is not None
        for server in self._aws.servers:
            if server.running_pid() is not None or server.answers():
                continue
            self._notice(f"the local {server.name} server on {server.endpoint} is gone; restarting")
            try:
                server.start()
                ensure_resources(self.settings)
            except LocalAwsError as error:
                self._notice(f"restarting the local {server.name} server failed: {error}")
                continue
            if server.name not in self._started_servers:
                self._started_servers.append(server.name)

    def _revive(self, service: Service) -> None:
        process = service.process
        if process is None or process.poll() is None:
            return
        now = time.monotonic()
        if service.restart_due is None:
            lived = now - service.started_at
            pause = 0.0
            if lived < YOUNG_SECONDS:
                pause = min(MAX_RESTART_PAUSE_SECONDS, 2.0 ** min(service.restarts, 5))
            service.restart_due = now + pause
            self._notice(
                f"{service.name} exited with {process.returncode} after {lived:.0f} s; "
                f"restarting in {pause:.0f} s (see {service.log})"
            )
        if now >= service.restart_due:
            service.restarts += 1
            service.restart_due = None
            self._spawn(service)
            self._notice(f"{service.name} restarted (restart {service.restarts})")

    def _notice(self, message: str) -> None:
        self.settings.log_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        with (self.settings.log_dir / "stack.log").open("a") as log:
            log.write(f"{stamp} {message}\n")
        self.on_notice(message)

    # --- processes -------------------------------------------------------------------------

    def _spawn(self, service: Service) -> None:
        self.settings.log_dir.mkdir(parents=True, exist_ok=True)
        if service.ready_file is not None:
            service.ready_file.unlink(missing_ok=True)
        service.log = self.settings.log_dir / f"{service.name}.log"
        with service.log.open("ab") as log:
            service.process = subprocess.Popen(
                service.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=os.environ | self.settings.process_environment(),
                start_new_session=True,
            )
        service.started_at = time.monotonic()

    def _wait_ready(self, service: Service) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            process = service.process
            if process is not None and process.poll() is not None:
                raise LocalStackError(
                    f"{service.name} exited with {process.returncode} while starting; "
                    f"see {service.log}"
                )
            if service.ready_file is not None and service.ready_file.exists():
                return
            if service.ready is None and service.ready_file is None:
                return
            if service.ready is not None:
                try:
                    if httpx.get(service.ready, timeout=1.0).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        raise LocalStackError(f"{service.name} not ready after {READY_SECONDS:.0f} s")


class StackOptions(TypedDict, total=False):
    """The optional fields of :class:`LocalStack`, as keyword arguments."""

    delivery_buffer_seconds: float
    extra_services: list[Service]
    on_notice: Callable[[str], None]


@contextmanager
def local_stack_running(
    settings: Settings, **options: Unpack[StackOptions]
) -> Iterator[LocalStack]:
    stack = LocalStack(settings, **options)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
