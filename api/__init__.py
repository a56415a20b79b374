"""The HTTP API: thin handlers over the use-cases of ``patrol`` (see ``api.app``).

``create_app(settings)`` builds the app (uvicorn: ``api:create_app --factory``); one router per
resource in ``api.routers``, the document's schemas in ``api.schemas``, the inputs in
``api.inputs``, the state handed to handlers in ``api.deps``, every error answer in
``api.errors``.
"""

from api.app import create_app

__all__ = ["create_app"]
