"""A free TCP port on loopback, for the tests that start real servers."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port the OS says is free now (another process may still take it before the server binds; tests retry rarely)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
