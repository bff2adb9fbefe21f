"""What a command says when it cannot do its job: one line naming the problem, and an exit code.

Commands raise :class:`UsageError` for a wrong argument or setting (exit 2) and
:class:`CommandError` when the world around them fails, e.g. a server that is not running
(exit 1). :func:`as_command_error` turns the exceptions of the libraries underneath into one of
them, so the command line never shows a traceback unless asked to (``clickstream --debug``).
"""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING, get_args, get_origin

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails
    from pydantic_settings import SettingsError

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
    """One line naming every wrong setting by the environment variable that sets it; the
    values of secrets and of whole groups are never shown."""
    problems = "; ".join(_setting_problem(detail) for detail in error.errors(include_url=False))
    return UsageError(f"{problems} (set it in the environment or in .env)")


def _setting_problem(detail: ErrorDetails) -> str:
    message = detail["msg"].removeprefix("Value error, ")
    location = detail["loc"]
    variable, member = _variable_and_member(location)
    if not variable:
        return message
    message = message[:1].lower() + message[1:]
    subject = f"{variable}: {member}" if member else variable
    if detail["type"] == "missing":
        return f"{subject} is missing"
    value = detail.get("input")
    shown = repr(value) if _shows_value(value) and _is_plain_setting(location) else None
    if detail["type"] == "literal_error":
        choices = re.findall(r"'([^']*)'", str((detail.get("ctx") or {}).get("expected", "")))
        return f"{subject}: {f'{shown} ' if shown else ''}is not one of {', '.join(choices)}"
    return f"{subject}: {shown}: {message}" if shown else f"{subject}: {message}"


def _variable_and_member(location: tuple[int | str, ...]) -> tuple[str, str]:
    """``("alerts", "rules", 0, "event_type")`` is ``CLICKSTREAM_ALERTS__RULES`` (one JSON
    variable: its list ends the name) and its member ``[0].event_type``."""
    names = list(itertools.takewhile(lambda part: isinstance(part, str), location))
    member = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in location[len(names) :]
    )
    variable = ENV_PREFIX + "__".join(str(name) for name in names).upper() if names else ""
    return variable, member


def _shows_value(value: object) -> bool:
    return isinstance(value, str | int | float) and value != ""


def _is_plain_setting(location: tuple[int | str, ...]) -> bool:
    """Whether the setting at ``location`` may be shown: a single value (not a list given as
    JSON), not a secret (``SecretStr``) nor within one, nor kept out of ``repr``."""
    from pydantic import BaseModel, SecretStr

    from streaming.contracts.settings import Settings

    annotation: object = Settings
    for part in location:
        if isinstance(part, int):
            continue
        models = [
            kind
            for kind in _types_in(annotation)
            if isinstance(kind, type) and issubclass(kind, BaseModel)
        ]
        field = models[0].model_fields.get(part) if models else None
        if field is None or field.repr is False or SecretStr in _types_in(field.annotation):
            return False
        annotation = field.annotation
    return get_origin(annotation) is not list


def _types_in(annotation: object) -> set[object]:
    """``annotation`` and every type it is made of (``list[SecretStr] | None``: all four)."""
    return {annotation}.union(*(_types_in(argument) for argument in get_args(annotation)))


def _settings_source_error(error: SettingsError) -> UsageError:
    """pydantic-settings' failure to decode a group given as one JSON variable."""
    group = re.search(r'field "(\w+)"', str(error))
    variable = ENV_PREFIX + group.group(1).upper() if group else "a setting"
    return UsageError(
        f"{variable}: expected a JSON object, or set its members one by one as "
        f"{variable}__<MEMBER> (set it in the environment or in .env)"
    )


def as_command_error(error: Exception) -> CommandError:
    """The one-line failure a command line user sees for ``error``."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    if isinstance(error, CommandError):
        return error
    if isinstance(error, ValidationError) and error.title == "Settings":
        return settings_error(error)
    if isinstance(error, SettingsError):
        return _settings_source_error(error)
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
