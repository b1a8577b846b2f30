"""The lab in a browser: a FastAPI app (JSON API at ``/api``, docs at ``/docs``) and the web app in ``static/``.

``digitlab serve`` runs it with uvicorn; tests build it with :func:`create_app`.
"""

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
