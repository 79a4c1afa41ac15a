"""chatd: a self-hosted chat server."""

__version__ = "0.1.0"
