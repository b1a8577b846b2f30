"""``create_app(settings)``: the FastAPI application of ``digitlab serve`` (API, docs at /docs, web app at /)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..version import __version__
from . import config_api, device_api, generate_api, inside_api, jobs_api, models_api, predict_api, runs_api, searches_api, studies_api
from .errors import detail, install_handlers
from .lab import Lab, get_lab, public_info
from .security import HostCheck
from .settings import Settings
from .static_files import mount_static


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, by Content-Length or while they stream in."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            return await detail(413, self.sentence())(scope, receive, send)
        seen = 0

        async def counted() -> Message:
            """The next body chunk, or 413 once the total passes the limit."""
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, self.sentence())
            return message

        await self.app(scope, counted, send)

    def sentence(self) -> str:
        """The 413 message."""
        return f"The request is larger than the limit of {self.limit / 1024 / 1024:.0f} MB."


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app for ``settings``: opens the run store and loads the start-up model (raises a DigitlabError if it cannot)."""
    settings = settings or Settings()
    lab = Lab.open(settings)
    app = FastAPI(
        title="digitlab",
        version=__version__,
        lifespan=lab.lifespan,
        docs_url=None,
        redoc_url=None,
        description="The handwritten-digit lab: recognise pictures, browse runs, train and choose models. "
        'Every error is JSON {"detail": one sentence}.',
    )
    app.state.lab = lab
    install_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.body_limit)
    app.add_middleware(HostCheck, settings=settings)  # added last: the outermost, it sees every request first

    @app.get("/api/info", tags=["lab"], summary="Version, current model, limits and whether training is open")
    def info(lab: Lab = Depends(get_lab)) -> dict[str, Any]:
        """`control` is open (localhost), token (needs X-Digitlab-Token) or off (exposed without --allow-train)."""
        return public_info(lab)

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        """The OpenAPI page, with Swagger UI served from the package (no CDN: it works offline)."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="digitlab API",
            swagger_js_url="/static/vendor/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger/swagger-ui.css",
            swagger_favicon_url="/static/icons/icon-192.png",
        )

    for module in (
        predict_api,
        runs_api,
        studies_api,
        searches_api,
        config_api,
        jobs_api,
        device_api,
        models_api,
        generate_api,
        inside_api,
    ):
        app.include_router(module.router)
    mount_static(app)
    return app
