"""Who may use the lab: only requests that name this server in their Host header (no DNS rebinding);
who may train and change the model: everyone on localhost, beyond it only holders of the start-up token.
"""

from __future__ import annotations

import secrets

from fastapi import Depends, Header
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import Forbidden, detail
from .lab import Lab, get_lab
from .settings import Settings, is_ip

TOKEN_HEADER = "X-Digitlab-Token"


def require_control(
    lab: Lab = Depends(get_lab),
    token: str | None = Header(None, alias=TOKEN_HEADER, description="the token printed at start-up (when the server asks for one)"),
) -> None:
    """FastAPI dependency of the training and model-changing endpoints; 403 with the reason otherwise."""
    s = lab.settings
    if s.token is None:
        if s.exposed:
            raise Forbidden(
                "Training and model changes are off because this server is reachable from other computers; "
                "restart it with --allow-train to enable them behind a token."
            )
        return
    if not secrets.compare_digest((token or "").encode(), s.token.encode()):
        raise Forbidden(f"This needs the token printed when the server started, in the {TOKEN_HEADER} header.")


def host_name(header: str) -> str:
    """The name in a Host header, lower case, without port or trailing dot: '[::1]:8000' -> '::1'."""
    h = header.strip().lower()
    if h.startswith("["):
        h = h[1 : h.find("]")] if "]" in h else h
    elif h.count(":") == 1:
        h = h.split(":")[0]
    return h.removesuffix(".")


class HostCheck:
    """Answer only requests whose Host header names this server; others get 400.

    A page on another site can point a name it controls at 127.0.0.1 (DNS
    rebinding) and then talk to the lab as its "own" site; its requests still
    carry that name in the Host header, which is how they are told apart.
    """

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app, self.allowed, self.any_ip = app, settings.allowed_hosts, settings.any_ip_host

    def allows(self, host: str) -> bool:
        return host in self.allowed or (self.any_ip and is_ip(host))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            names = [host_name(v.decode("latin-1")) for k, v in scope["headers"] if k == b"host"] or [""]
            bad = next((n for n in names if not self.allows(n)), None)
            if bad is not None:
                if scope["type"] == "websocket":
                    return await send({"type": "websocket.close", "code": 1008})
                allowed = ", ".join(sorted(self.allowed)) + (" or an IP address" if self.any_ip else "")
                sentence = f"This server answers only to {allowed}, not to the host name {bad!r}."
                return await detail(400, sentence)(scope, receive, send)
        await self.app(scope, receive, send)
