"""A server's port checked before anything is started, so a port in use is one line."""

from __future__ import annotations

import errno
import socket

from clickstream_cli.errors import CommandError


def ensure_port_free(host: str, port: int, variable: str) -> None:
    """Fail in one line, before anything is started, when ``host:port`` cannot be bound;
    ``variable`` is the setting that chooses the port."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind) as probe:
            # as the server binds: a closed connection still in TIME_WAIT does not hold the port
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise CommandError(f"cannot serve on {host}:{port}: {error.strerror}") from error
        raise CommandError(
            f"port {port} is in use: choose another with --port or {variable}"
        ) from error
