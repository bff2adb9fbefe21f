"""The local stack: the local AWS endpoint, the HTTP ingest, the delivery and the real-time
consumer, as processes.

``make demo`` and ``make dev`` start it; each service runs as a child process of its own
(logs under the home's ``logs/``), is waited for until it is ready, and is stopped with
SIGTERM (delivery then flushes its buffers and checkpoints) when the stack stops.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from streaming.local_aws import LocalAws
from streaming.settings import Settings

READY_SECONDS = 60.0
STOP_SECONDS = 20.0


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


@dataclass
class LocalStack:
    settings: Settings
    delivery_buffer_seconds: float = 5.0
    extra_services: list[Service] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    _aws: LocalAws | None = None
    _started_aws: bool = False

    def start(self) -> None:
        self._aws = LocalAws(self.settings)
        self._started_aws = not self._aws.is_up()
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

    def stop(self) -> None:
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
        if self._aws is not None and self._started_aws:
            self._aws.down()

    def check_alive(self) -> None:
        for service in self.services:
            if service.process is not None and service.process.poll() is not None:
                raise LocalStackError(
                    f"{service.name} exited with {service.process.returncode}; see {service.log}"
                )

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

    def _wait_ready(self, service: Service) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            self.check_alive()
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


@contextmanager
def local_stack_running(settings: Settings, **options: object) -> Iterator[LocalStack]:
    stack = LocalStack(settings, **options)  # type: ignore[arg-type]
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
