"""Every error answer in one place and one shape: RFC 9457 problem details
(``application/problem+json``: type, title, status, detail, and for bad input the ``errors``
per field). Domain errors map to status codes here: bad input 422, unknown ids 404, illegal
transitions 409, a missing or unknown key 401, the wrong role 403, an oversized body 413, and
503 for the database, saying which of these it was: the service is overloaded (no connection of
its pool was free in time), a lock or a statement took longer than its limit, or the database
cannot be reached. An overloaded service and a lock timeout are worth retrying in a moment:
those answers carry ``Retry-After``."""

from __future__ import annotations

from http import HTTPStatus

import psycopg
import sqlalchemy as sa
from psycopg_pool import PoolTimeout
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from patrol.errors import Conflict, Invalid, NotFound, StoredButNotDispatched
from routing import RoutingError
from zones.cluster import ClusterError
from zones.database import LOOP_POOL_TIMEOUT_S, SERVICE_POOL_TIMEOUT_S

PROBLEM_TYPE = "application/problem+json"
DATABASE_DOWN = ("the database is unavailable; the request was not carried out. "
                 "Try again shortly")
#: Seconds a client is asked to wait before retrying a request that met a busy service.
RETRY_AFTER_S = 1
OVERLOADED = ("the service is overloaded: no database connection was free within {s:g} s; "
              "nothing was changed. Retry in a moment")
TIMED_OUT = {
    psycopg.errors.LockNotAvailable: "timed out waiting for a lock: another request held a "
                                     "row or table this one needs for longer than the lock "
                                     "timeout; nothing was changed. Retry in a moment",
    psycopg.errors.QueryCanceled: "the database took too long to answer (statement timeout); "
                                  "nothing was changed. Try again shortly, or ask for less",
}


class Unauthorized(Exception):
    """No API key, or one that is unknown or revoked (401)."""


class Forbidden(Exception):
    """The key's role may not do this (403)."""


class FieldError(BaseModel):
    """One refused input: where it is (``loc``: "body", "query", "path" then the field names)
    and why."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An error answer (RFC 9457 problem details)."""

    type: str = Field("about:blank", description="always about:blank: the status says it")
    title: str = Field(description="the status's phrase, e.g. Not Found")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="what was wrong, in one or more sentences")
    errors: list[FieldError] | None = Field(None, description="each refused input (422)")
    incident_id: int | None = Field(None, description="the incident stored before the failure "
                                                      "(503 of POST /incidents)")


#: What each documented status means, for the OpenAPI document.
MEANING = {
    400: "The body is not JSON.",
    401: "No X-API-Key header, or an unknown or revoked key.",
    403: "The key's role may not do this.",
    404: "No such resource.",
    405: "The path does not take this method.",
    409: "Not allowed in the current state.",
    413: "The request body is over the size limit.",
    422: "Bad input: a value outside the document, or one the domain cannot accept (a point "
         "too far from every road, a time in the future).",
    503: "The service is overloaded (no database connection free in time), a lock or a "
         "statement took longer than its limit, or the database cannot be reached; the detail "
         "says which, and Retry-After is set when a retry in a moment may succeed. Nothing was "
         "done (or, for an alarm, the incident was stored and stays open).",
}


def errors(*statuses: int) -> dict[int, dict]:
    """The ``responses`` of a route that may answer ``statuses``, each a :class:`Problem`."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {status: {"description": MEANING[status], "content": {PROBLEM_TYPE: {"schema": schema}}}
            for status in statuses}


def problem(status: int, detail: str, *, field_errors: list[dict] | None = None,
            headers: dict[str, str] | None = None, incident_id: int | None = None
            ) -> JSONResponse:
    """The problem-details answer for ``status``."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
            "detail": detail}
    if field_errors is not None:
        body["errors"] = field_errors
    if incident_id is not None:
        body["incident_id"] = incident_id
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def add_error_handlers(app: FastAPI) -> None:
    """Answer every domain, validation, routing and database error as a :class:`Problem`."""
    status_of = ((RoutingError, 422), (Invalid, 422), (NotFound, 404), (Conflict, 409),
                 (Unauthorized, 401), (Forbidden, 403))
    for error, status in status_of:
        app.add_exception_handler(error, lambda request, exc, s=status: problem(s, str(exc)))
    app.add_exception_handler(StoredButNotDispatched, _stored_but_not_dispatched)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    for error in (sa.exc.DBAPIError, sa.exc.TimeoutError, ClusterError, psycopg.OperationalError):
        app.add_exception_handler(error, _database_error)


def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each refused input. The inputs themselves are not echoed: one may not be
    representable in JSON (NaN) and the caller has them."""
    found = [{"loc": [str(p) if not isinstance(p, int) else p for p in e["loc"]],
              "msg": _not_json(e) or e["msg"], "type": e["type"]} for e in exc.errors()]
    detail = "; ".join(e["msg"] if e["type"] == "json_invalid" else
                       f"{'.'.join(map(str, e['loc'][1:])) or e['loc'][0]}: {e['msg']}"
                       for e in found)
    return problem(422, detail or "invalid request", field_errors=found)


def _not_json(error: dict) -> str | None:
    """What a body that is not JSON has wrong, and where (None: another error)."""
    if error["type"] != "json_invalid":
        return None
    return (f"the body is not JSON: {error.get('ctx', {}).get('error', 'invalid')} at "
            f"character {error['loc'][-1]}")


def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Routing and framework errors (404 unknown path, 405, 400 unreadable body, 413). A 405
    lists every method the path takes (the framework names one route's methods only); a 400
    says why the body could not be read (not UTF-8, a number too long, nested too deep)."""
    headers = dict(exc.headers or {})
    if exc.status_code == 400 and exc.__cause__ is not None:
        return problem(400, f"the body is not readable JSON: {exc.__cause__}")
    if exc.status_code == 405:
        path = request.scope["path"]
        allowed = {method for pattern, methods in request.app.state.methods
                   if pattern.fullmatch(path) for method in methods}
        headers["Allow"] = ", ".join(sorted(allowed))
    return problem(exc.status_code, str(exc.detail), headers=headers)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    said = database_problem(exc)
    if said is None:
        raise exc
    detail, retry = said
    return problem(503, detail, headers={"Retry-After": str(RETRY_AFTER_S)} if retry else None)


def _stored_but_not_dispatched(request: Request, exc: StoredButNotDispatched) -> JSONResponse:
    """503 with the stored incident's id, and what went wrong when it was the database."""
    said = database_problem(exc.__cause__) if exc.__cause__ is not None else None
    detail = str(exc) if said is None else f"{exc}. The cause: {said[0]}"
    return problem(503, detail, incident_id=exc.incident_id,
                   headers={"Retry-After": str(RETRY_AFTER_S)} if said and said[1] else None)


def database_problem(exc: BaseException) -> tuple[str, bool] | None:
    """What a database error means for the caller, and whether a retry in a moment may
    succeed: no pooled connection free in time (the service is overloaded), a lock or statement
    timeout, or a database that cannot be reached. None: not one of these."""
    cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    if isinstance(exc, PoolTimeout):
        return OVERLOADED.format(s=LOOP_POOL_TIMEOUT_S), True
    if isinstance(exc, sa.exc.TimeoutError):  # SQLAlchemy's pool had no connection in time
        return OVERLOADED.format(s=SERVICE_POOL_TIMEOUT_S), True
    for error, detail in TIMED_OUT.items():
        if isinstance(cause, error):
            return detail, error is psycopg.errors.LockNotAvailable
    if isinstance(exc, (sa.exc.OperationalError, ClusterError, psycopg.OperationalError)) or (
            isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated):
        return DATABASE_DOWN, False
    return None
