"""Errors of the dispatch domain; the HTTP layer maps each class to a status code once."""


class DispatchError(Exception):
    """Base class; the message says what was wrong."""


class NotFound(DispatchError, LookupError):
    """No such incident, unit, station or hotspot (HTTP 404)."""


class Conflict(DispatchError):
    """The request is not allowed in the current state, e.g. closing a closed incident (409)."""


class Invalid(DispatchError, ValueError):
    """A value the domain cannot accept (422)."""


class StoredButNotDispatched(DispatchError):
    """Something failed after an incident was stored, before its decision was (503): the
    database went away, or anything else. The incident is kept, open, and the reconciler
    decides it within seconds; a retry with the same Idempotency-Key returns it."""

    def __init__(self, incident_id: int) -> None:
        super().__init__(f"incident {incident_id} was stored, but no unit could be assigned or "
                         f"recommended yet; it stays open and is decided within seconds")
        self.incident_id = incident_id
