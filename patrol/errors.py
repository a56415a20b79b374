"""Errors of the dispatch domain; the HTTP layer maps each class to a status code once."""


class DispatchError(Exception):
    """Base class; the message says what was wrong."""


class NotFound(DispatchError, LookupError):
    """No such incident, unit, station or hotspot (HTTP 404)."""


class Conflict(DispatchError):
    """The request is not allowed in the current state, e.g. closing a closed incident (409)."""


class Invalid(DispatchError, ValueError):
    """A value the domain cannot accept (422)."""
