"""The errors a reader of traces can meet, each with a one-line message fit for a CLI user.

A shared leaf: the store raises them when it opens a file, the readers when they answer, and the
CLI turns every one of them into one line on stderr and a non-zero exit.
"""

from __future__ import annotations

__all__ = ["BackendUnreachable", "ReaderError", "StoreNotFound", "StoreTooNew", "TraceNotFound"]


class ReaderError(Exception):
    """A reader could not answer; the message is one line, fit for a CLI user."""


class StoreNotFound(ReaderError):
    pass


class TraceNotFound(ReaderError):
    pass


class BackendUnreachable(ReaderError):
    pass


class StoreTooNew(ReaderError):
    """The store was written by a newer otel-worklog whose schema this one does not know."""
