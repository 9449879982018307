"""The one exception hierarchy. Adapters map library errors onto it.

Every error carries a ``hint``: what the user should do about it. The CLI and
the console print ``message`` and ``hint``; neither prints a stack trace for a
``QinglangError``.
"""

from __future__ import annotations


class QinglangError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = 1
    http_status = 500

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:  # pragma: no cover - trivial
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(QinglangError):
    """Settings or a config file are wrong."""

    exit_code = 2


class BadInput(QinglangError):
    """Input data (a file, a record, a request) is malformed."""

    exit_code = 2
    http_status = 422


class NotFound(QinglangError):
    exit_code = 3
    http_status = 404


class Conflict(QinglangError):
    """The action is not allowed in the current state (e.g. an illegal transition)."""

    exit_code = 4
    http_status = 409


class PermissionDenied(QinglangError):
    exit_code = 5
    http_status = 403


class MissingExtra(QinglangError):
    """An optional dependency group is not installed."""

    exit_code = 2

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(
            f"{feature} needs the optional '{extra}' dependencies, which are not installed",
            hint=f"install them with: pip install 'qinglang[{extra}]'",
        )
        self.extra = extra


class ServiceUnavailable(QinglangError):
    """A backing service (broker, search cluster, database) cannot be reached."""

    exit_code = 6
    http_status = 503


class BusUnavailable(ServiceUnavailable):
    pass


class IndexUnavailable(ServiceUnavailable):
    pass


class DatabaseUnavailable(ServiceUnavailable):
    pass


class RecordTooLarge(BadInput):
    pass


class MediaError(BadInput):
    """Media could not be opened or decoded."""
