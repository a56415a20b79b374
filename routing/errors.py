"""Errors raised by the routing engine.

Every error a caller can cause by its input is a subclass of :class:`RoutingError`, itself a
``ValueError``, and carries a message that says what was wrong. The CLI prints that message and
exits non-zero; the HTTP layer maps it to a 4xx response.
"""


class RoutingError(ValueError):
    """Base class for bad input to the routing engine."""


class CoordinateError(RoutingError):
    """A coordinate is not a finite lon/lat in range, or its system is unknown."""


class GraphImportError(RoutingError):
    """A road network source could not be read or left no drivable network."""


class OffNetworkError(RoutingError):
    """A point lies farther from every road than the snapping limit."""

    def __init__(self, distance_m: float, limit_m: float) -> None:
        self.distance_m = distance_m
        self.limit_m = limit_m
        super().__init__(
            f"the point is {distance_m:,.0f} m from the nearest road of the network; "
            f"points farther than {limit_m:,.0f} m from a road cannot be routed"
        )
