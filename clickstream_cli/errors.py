"""What a command says when it cannot do its job: one line naming the problem, and an exit code.

Commands raise :class:`UsageError` for a wrong argument or setting (exit 2) and
:class:`CommandError` when the world around them fails, e.g. a server that is not running
(exit 1). :func:`as_command_error` turns the exceptions of the libraries underneath into one of
them, so the command line never shows a traceback unless asked to (``clickstream --debug``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails

ENV_PREFIX = "CLICKSTREAM_"
START_THE_STACK = "is the local stack running? `make dev` or `clickstream local up` starts it"


class CommandError(Exception):
    """The command could not do its job; the message says what is wrong and what to do."""

    exit_code = 1


class UsageError(CommandError):
    """The command was given a wrong argument or setting."""

    exit_code = 2


def one_line(text: str) -> str:
    return " ".join(text.split())


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def settings_error(error: ValidationError) -> UsageError:
    """One line naming every wrong setting by the environment variable that sets it."""
    problems = "; ".join(_setting_problem(detail) for detail in error.errors(include_url=False))
    return UsageError(f"{problems} (set it in the environment or in .env)")


def _setting_problem(detail: ErrorDetails) -> str:
    message = detail["msg"].removeprefix("Value error, ")
    names = [str(part) for part in detail["loc"] if isinstance(part, str)]
    if not names:
        return message
    variable = ENV_PREFIX + "__".join(names).upper()
    value = detail.get("input")
    if detail["type"] == "literal_error":
        choices = re.findall(r"'([^']*)'", str((detail.get("ctx") or {}).get("expected", "")))
        return f"{variable}: {value!r} is not one of {', '.join(choices)}"
    return f"{variable}: {value!r}: {message[:1].lower()}{message[1:]}"


def as_command_error(error: Exception) -> CommandError:
    """The one-line failure a command line user sees for ``error``."""
    from pydantic import ValidationError

    if isinstance(error, CommandError):
        return error
    if isinstance(error, ValidationError) and error.title == "Settings":
        return settings_error(error)
    if is_connection_error(error):
        return CommandError(f"cannot connect: {first_line(str(error))} ({START_THE_STACK})")
    if isinstance(error, OSError):
        return CommandError(first_line(str(error)))
    return CommandError(
        f"{type(error).__name__}: {first_line(str(error))} "
        "(`clickstream --debug ...` shows the traceback)"
    )


def is_connection_error(error: BaseException) -> bool:
    import httpx
    from botocore.exceptions import EndpointConnectionError

    return isinstance(
        error, ConnectionError | httpx.ConnectError | httpx.ConnectTimeout | EndpointConnectionError
    )
