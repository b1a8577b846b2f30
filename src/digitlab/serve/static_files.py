"""The web app's files: the page at ``/``, the service worker and manifest at the root, the rest under ``/static``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"
NO_CACHE = {"Cache-Control": "no-cache"}  # revalidate (ETag) so a new version is picked up at once
# The page loads nothing from elsewhere; inline styles are allowed for the bar widths and the chart library, and
# WebAssembly may be compiled (ONNX Runtime recognises on the device), which allows no JavaScript eval.
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

# Files from run and study folders are shown as they are, never as a page of this site:
# no sniffing them into HTML, and a stray .html or .svg among them can run nothing.
FILE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
    "X-Content-Type-Options": "nosniff",
}


def mount_static(app: FastAPI) -> None:
    """Routes for ``/``, ``/sw.js`` and ``/manifest.webmanifest``, and ``/static/*``."""

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        """The web app."""
        return FileResponse(STATIC / "index.html", headers={**NO_CACHE, "Content-Security-Policy": CSP})

    @app.get("/sw.js", include_in_schema=False)
    def service_worker() -> FileResponse:
        """The service worker, allowed to control the whole site."""
        return FileResponse(STATIC / "sw.js", media_type="text/javascript", headers={**NO_CACHE, "Service-Worker-Allowed": "/"})

    @app.get("/manifest.webmanifest", include_in_schema=False)
    def manifest() -> FileResponse:
        """The web app manifest (name, icons, colours)."""
        return FileResponse(STATIC / "manifest.webmanifest", media_type="application/manifest+json", headers=NO_CACHE)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
