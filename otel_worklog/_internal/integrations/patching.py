"""Installing and removing the wrappers an integration puts on a framework, exactly once each."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import wrapt
from opentelemetry import trace

from otel_worklog._internal.faults import log_internal_error

logger = logging.getLogger("otel_worklog")

__all__ = ["FrameworkInstrumentor", "Patch"]

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


class Patch:
    """``owner.attribute`` replaced by a wrapt proxy around it, and put back exactly as it was."""

    __slots__ = ("attribute", "original", "owner")

    def __init__(self, owner: Any, attribute: str, wrapper: Wrapper) -> None:
        self.owner = owner
        self.attribute = attribute
        self.original = owner.__dict__[attribute]  # as stored: keeps staticmethod/classmethod objects
        wrapt.wrap_function_wrapper(owner, attribute, wrapper)

    def remove(self) -> None:
        setattr(self.owner, self.attribute, self.original)


class FrameworkInstrumentor:
    """``instrument()``/``uninstrument()`` for one framework: idempotent, and a no-op without the framework."""

    #: The framework's distribution, its import name and otel_worklog's extra that installs it.
    distribution = ""
    module = ""
    extra = ""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._patches: list[Patch] = []
        self._installed = False

    @property
    def installed(self) -> bool:
        return self._installed

    def instrument(self, tracer_provider: trace.TracerProvider | None = None) -> bool:
        """Start recording the framework's events; True when the hooks are (or already were) in place."""
        with self._lock:
            if self._installed:
                self._set_provider(tracer_provider)
                return True
            try:
                importlib.import_module(self.module)
            except ImportError:
                logger.warning(
                    "otel_worklog: %s is not installed; nothing to instrument (pip install 'otel-worklog[%s]')",
                    self.distribution,
                    self.extra,
                )
                return False
            try:
                self._set_provider(tracer_provider)
                self._install()
            except Exception:
                self._remove_patches()
                log_internal_error()
                return False
            self._installed = True
            return True

    def uninstrument(self) -> bool:
        """Stop recording and put the framework back as it was; True when hooks were removed."""
        with self._lock:
            if not self._installed:
                return False
            self._installed = False
            try:
                self._uninstall()
            except Exception:
                log_internal_error()
            self._remove_patches()
            return True

    def patch(self, owner: Any, attribute: str, wrapper: Wrapper) -> None:
        self._patches.append(Patch(owner, attribute, wrapper))

    def _remove_patches(self) -> None:
        while self._patches:
            try:
                self._patches.pop().remove()
            except Exception:
                log_internal_error()

    # --- what each integration provides -----------------------------------------------------
    def _set_provider(self, tracer_provider: trace.TracerProvider | None) -> None:
        raise NotImplementedError

    def _install(self) -> None:
        raise NotImplementedError

    def _uninstall(self) -> None:
        """Anything beyond removing the patches (they go in any case)."""
