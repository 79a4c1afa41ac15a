"""First start: a one-time setup token lets the first visitor create the administrator in a browser.

When `chatd serve` starts on a database without an administrator it asks `issue()`
for a token and prints it with the address. `GET /api/v1/setup` tells the web client
whether a setup is waiting (`{"needed": true}`), and `POST /api/v1/setup`
`{"token", "username", "password"}` creates the administrator once: the token is
then spent, and the route answers `conflict` as soon as any administrator exists
(one made with `chatd user add --admin` included). A wrong token counts as a failed
login of the client's address (chatd.services.login_guard), so guessing is rate
limited exactly as passwords are. The token lives only in this process's memory: a
restart without an administrator prints a new one.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

import msgspec

from ..errors import ChatError
from ..passwords import hash_password
from ..policy.login_throttle import address_key
from ..store import users as users_store
from ..store.users import public_user

if TYPE_CHECKING:
    from ..server import Server

SETUP_PATH = "/api/v1/setup"
MIN_PASSWORD = 8  # as `chatd user add`
log = logging.getLogger("chatd.setup")


class SetupBody(msgspec.Struct, forbid_unknown_fields=False):
    token: str
    username: str
    password: str


class Setup:
    def __init__(self, server: Server):
        self.server = server
        self.token: str | None = None

    async def issue(self) -> str | None:
        """A new setup token when no administrator exists, else None (and no token is valid)."""
        exists = await self.server.readers.read(users_store.admin_exists)
        self.token = None if exists else secrets.token_urlsafe(18)
        return self.token

    async def state(self) -> dict[str, Any]:
        if self.token is not None and await self.server.readers.read(users_store.admin_exists):
            self.token = None  # made meanwhile with `chatd user add --admin`
        return {"needed": self.token is not None}

    async def create(self, body: SetupBody, address: str) -> dict[str, Any]:
        guard = self.server.services.login_guard
        addr = address_key(address)
        guard.check(addr, None)
        if self.token is None:
            raise ChatError("conflict", "no setup is waiting: an administrator exists; log in instead")
        if not secrets.compare_digest(body.token.encode(), self.token.encode()):
            guard.failed(addr, None)
            log.warning("setup refused: wrong setup token from address=%s", address or "?")
            raise ChatError("auth_failed", "wrong setup token", field="token")
        name = body.username.strip()
        if not 1 <= len(name) <= 64 or any(c.isspace() or not c.isprintable() for c in name):
            raise ChatError("bad_request", "a username has 1 to 64 characters, without spaces", field="username")
        if len(body.password) < MIN_PASSWORD or len(body.password) > 1024:
            raise ChatError("bad_request", f"the password must have {MIN_PASSWORD} to 1024 characters", field="password")
        cfg = self.server.cfg.auth
        hashed = await guard.hash_check(addr, None, lambda: hash_password(body.password, cfg))
        if self.token is None:  # spent while the password was hashed
            raise ChatError("conflict", "no setup is waiting: an administrator exists; log in instead")
        uid = await self.server.writer.submit(users_store.op_create_first_admin, name, hashed)
        self.token = None
        log.info("setup: administrator %r created from address=%s", name[:64], address or "?")
        return {"user": public_user({"id": uid, "name": name, "display_name": name, "is_admin": True})}
