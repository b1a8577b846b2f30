"""Who may train and change the model: everyone on localhost; beyond it, only holders of the start-up token."""

from __future__ import annotations

import secrets

from fastapi import Depends, Header

from .errors import Forbidden
from .lab import Lab, get_lab

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
