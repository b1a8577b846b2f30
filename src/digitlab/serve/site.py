"""``digitlab export REF --web DIR``: the web app as plain static files that recognise on the device, with no server.

Any HTTPS static host serves the folder (or ``python -m http.server`` on localhost, for a try); on Android, Chrome
then offers to install it as an app. The page is the lab's own page in static mode (``<html data-mode="static">``:
only Recognise, always on the device); the service worker keeps the shell, the runtime and the model offline.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import DigitlabError
from ..export import device_model
from ..fsio import write_atomic
from .static_files import CSP, STATIC

MARKER = ".digitlab-site"  # a folder holding this was written here: it may be written again
ROOT_FILES = ("sw.js", "manifest.webmanifest")  # served from the site's root, as the server does
LEFT_OUT = ("index.html", "sw.js", "manifest.webmanifest", "vendor/swagger")  # placed elsewhere, or the server's API page only
HOSTING = """digitlab, the recogniser as a static web app (written by `digitlab export --web`).

Serve this folder with any static file server over HTTPS (a service worker and the install prompt need HTTPS, or
http://localhost). Try it here:  python -m http.server 8080  ->  http://localhost:8080/
Files: index.html and static/ (the app), sw.js (keeps it offline), model/model.onnx + model/model.json (the model and
its rejection statistics), static/vendor/ort/ (ONNX Runtime Web; .wasm must be served as application/wasm).
"""


class SiteError(DigitlabError):
    """The static site cannot be written where it was asked."""


@dataclass(frozen=True)
class Site:
    folder: Path
    model_id: str
    files: int
    bytes: int


def _check_folder(folder: Path) -> None:
    """Write only into a new or empty folder, or over an earlier site: never over someone's other files."""
    if folder.exists() and not folder.is_dir():
        raise SiteError(f"{folder} is a file; give a folder for the web app.")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MARKER).is_file():
        raise SiteError(f"{folder} already holds other files; give a new or empty folder (an earlier `--web` folder is replaced).")


def static_page(html: str) -> str:
    """The lab's page in static mode, with its Content-Security-Policy as a meta tag (a static host sends no header)."""
    csp = CSP.replace("; frame-ancestors 'none'", "")  # not allowed in a meta tag
    html = html.replace('<html lang="en">', '<html lang="en" data-mode="static">', 1)
    return html.replace("<head>", f'<head>\n  <meta http-equiv="Content-Security-Policy" content="{csp}">', 1)


def write_site(checkpoint: Path, folder: Path) -> Site:
    """Write the app, the service worker, the manifest and ``checkpoint``'s exported model into ``folder``."""
    _check_folder(folder)
    model, meta = device_model(checkpoint)
    if folder.is_dir():
        shutil.rmtree(folder)
    shutil.copytree(STATIC, folder / "static", ignore=lambda d, names: [n for n in names if _left_out(Path(d) / n)])
    for name in ROOT_FILES:
        shutil.copy2(STATIC / name, folder / name)
    write_atomic(folder / "index.html", static_page((STATIC / "index.html").read_text(encoding="utf-8")))
    (folder / "model").mkdir()
    shutil.copy2(model, folder / "model" / "model.onnx")
    write_atomic(folder / "model" / "model.json", json.dumps(meta))
    write_atomic(folder / "README.txt", HOSTING)
    (folder / MARKER).write_text(meta["id"] + "\n")
    files = [p for p in folder.rglob("*") if p.is_file()]
    return Site(folder, meta["id"], len(files), sum(p.stat().st_size for p in files))


def _left_out(path: Path) -> bool:
    rel = path.relative_to(STATIC).as_posix()
    return rel in LEFT_OUT or rel.endswith((".map", "~"))
