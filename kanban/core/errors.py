"""Refusals every package raises: a clear message for a person, a code for the API."""

from __future__ import annotations


class ServiceError(Exception):
    """A refused operation: a clear message for a person, a code for the API."""

    def __init__(self, code: str, message: str, status: int = 400, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details


class NotFound(ServiceError):
    """The thing asked for does not exist."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, status=404)


class FieldErrors(ServiceError):
    """Input refused field by field: ``errors`` maps each bad field to a message for a
    person. The API names the first one (``field``); a form shows each beside its field."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__("invalid_field", message, 400, field=field)
        self.errors = errors
        self.field = field


class Conflict(ServiceError):
    """The record changed since the version the edit started from: nothing was saved."""

    def __init__(self, message: str, version: int) -> None:
        super().__init__("conflict", message, 409, version=version)
        self.version = version
