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
