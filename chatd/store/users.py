"""Users and login tokens."""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

from ..errors import ChatError
from .db import now_ms, on_postgres

USER_COLS = "id, name, display_name, is_admin, disabled, is_bot"
_NCOLS = 6


def user_row(row: tuple[Any, ...] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"id": row[0], "name": row[1], "display_name": row[2], "is_admin": bool(row[3]), "disabled": bool(row[4]), "is_bot": bool(row[5])}


def public_user(user: dict[str, Any]) -> dict[str, Any]:
    """A User as the wire carries it: `is_bot` only for bots."""
    out = {"id": user["id"], "name": user["name"], "display_name": user["display_name"], "is_admin": user["is_admin"]}
    if user.get("is_bot"):
        out["is_bot"] = True
    return out


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


# --- plain-connection functions (CLI, readers, and inside writer ops) ---------


def create_user(conn: sqlite3.Connection, name: str, password_hash: str, *, is_admin: bool = False, display_name: str | None = None) -> int:
    try:
        cur = conn.execute(
            "INSERT INTO users (name, display_name, password_hash, is_admin, created_at) VALUES (?, ?, ?, ?, ?)",
            (name, display_name or name, password_hash, int(is_admin), now_ms()),
        )
    except sqlite3.IntegrityError:
        raise ChatError("conflict", f"user {name!r} already exists", field="name") from None
    return int(cur.lastrowid)  # type: ignore[arg-type]


# A bot has no password (no hash verifies against this) and logs in with tokens that do not expire.
NO_PASSWORD = "!no-password"
BOT_TOKEN_TTL_MS = 100 * 365 * 86_400_000


def create_bot(conn: sqlite3.Connection, name: str, display_name: str | None = None) -> int:
    uid = create_user(conn, name, NO_PASSWORD, display_name=display_name)
    conn.execute("UPDATE users SET is_bot = 1 WHERE id = ?", (uid,))
    return uid


def bot_id(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT id, is_bot FROM users WHERE name = ?", (name,)).fetchone()
    if row is None or not row[1]:
        raise ChatError("not_found", f"no bot named {name!r}", field="name")
    return int(row[0])


def replace_bot_token(conn: sqlite3.Connection, user_id: int, token: str) -> None:
    """The bot's only token from now on: every earlier one stops working."""
    conn.execute("DELETE FROM tokens WHERE user_id = ?", (user_id,))
    now = now_ms()
    conn.execute(
        "INSERT INTO tokens (token_hash, user_id, device, created_at, expires_at) VALUES (?, ?, 'bot', ?, ?)",
        (token_hash(token), user_id, now, now + BOT_TOKEN_TTL_MS),
    )


def set_password(conn: sqlite3.Connection, name: str, password_hash: str) -> None:
    cur = conn.execute("UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name))
    if cur.rowcount == 0:
        raise ChatError("not_found", f"no user named {name!r}", field="name")
    # A new password ends every session made with the old one.
    conn.execute("DELETE FROM tokens WHERE user_id = (SELECT id FROM users WHERE name = ?)", (name,))


def set_disabled(conn: sqlite3.Connection, name: str, disabled: bool = True) -> int:
    row = conn.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise ChatError("not_found", f"no user named {name!r}", field="name")
    conn.execute("UPDATE users SET disabled = ? WHERE id = ?", (int(disabled), row[0]))
    if disabled:
        conn.execute("DELETE FROM tokens WHERE user_id = ?", (row[0],))
    return int(row[0])


def list_users(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(f"SELECT {USER_COLS}, created_at, last_seen FROM users ORDER BY id").fetchall()
    out = []
    for row in rows:
        user = user_row(row[:_NCOLS])
        assert user is not None
        user["created_at"] = row[_NCOLS]
        user["last_seen"] = row[_NCOLS + 1]
        out.append(user)
    return out


def count_users(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM users").fetchone()[0]


def admin_exists(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM users WHERE is_admin = 1 LIMIT 1").fetchone() is not None


def get_users(conn: sqlite3.Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(f"SELECT {USER_COLS} FROM users WHERE id IN ({marks})", ids).fetchall()
    return {r[0]: user_row(r) for r in rows}  # type: ignore[misc]


def password_login_row(conn: sqlite3.Connection, name: str) -> tuple[dict[str, Any], str] | None:
    row = conn.execute(f"SELECT {USER_COLS}, password_hash FROM users WHERE name = ?", (name,)).fetchone()
    if row is None:
        return None
    return user_row(row[:_NCOLS]), row[_NCOLS]  # type: ignore[return-value]


def token_user(conn: sqlite3.Connection, token: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT u.id, u.name, u.display_name, u.is_admin, u.disabled, u.is_bot FROM tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.token_hash = ? AND t.expires_at > ?",
        (token_hash(token), now_ms()),
    ).fetchone()
    return user_row(row)


# --- writer ops ----------------------------------------------------------------


def op_issue_token(ctx: Any, user_id: int, token: str, device: str, ttl_ms: int) -> None:
    ctx.conn.execute(
        "INSERT INTO tokens (token_hash, user_id, device, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        (token_hash(token), user_id, device, ctx.now, ctx.now + ttl_ms),
    )
    ctx.conn.execute("DELETE FROM tokens WHERE user_id = ? AND expires_at <= ?", (user_id, ctx.now))


def op_upgrade_password_hash(ctx: Any, user_id: int, old_hash: str, new_hash: str) -> bool:
    """Writer op: replace the user's password hash by the same password's hash with the configured
    parameters. Only while the stored hash is still `old_hash` (a password set meanwhile wins);
    tokens are kept: the password has not changed. Returns whether it was replaced."""
    cur = ctx.conn.execute("UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?", (new_hash, user_id, old_hash))
    return cur.rowcount > 0


def op_create_first_admin(ctx: Any, name: str, password_hash: str) -> int:
    """Writer op: create the first administrator, unless an administrator exists (then `conflict`)."""
    if admin_exists(ctx.conn):
        raise ChatError("conflict", "an administrator exists already; log in instead")
    return create_user(ctx.conn, name, password_hash, is_admin=True)


def op_touch_last_seen(ctx: Any, user_id: int) -> None:
    ctx.conn.execute("UPDATE users SET last_seen = ? WHERE id = ?", (ctx.now, user_id))


def op_disabled_if_changed(ctx: Any, version: int | None) -> tuple[int, list[int]]:
    """Writer op: (the writer connection's data_version, the disabled users' ids if another
    process committed since `version` was read, else none)."""
    if on_postgres(ctx.conn):  # no data_version: the list, every time (a node or a command may have written)
        return 0, [r[0] for r in ctx.conn.execute("SELECT id FROM users WHERE disabled = 1")]
    (now,) = ctx.conn.execute("PRAGMA data_version").fetchone()
    if now == version:
        return now, []
    return now, [r[0] for r in ctx.conn.execute("SELECT id FROM users WHERE disabled = 1")]


def set_translation_language(conn: sqlite3.Connection, user_id: int, language: str) -> None:
    conn.execute("UPDATE users SET translation_language = ? WHERE id = ?", (language, user_id))


def translation_languages(conn: sqlite3.Connection, ids: list[int]) -> dict[int, str]:
    """Each of these users' translation language ('' for none); unknown ids are left out."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return dict(conn.execute(f"SELECT id, translation_language FROM users WHERE id IN ({marks})", ids).fetchall())


def search(conn: sqlite3.Connection, query: str, limit: int) -> list[dict[str, Any]]:
    """user_search: enabled users whose name or display name begins with `query` (any case),
    names that begin with it first, then by name."""
    like = query.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
    rows = conn.execute(
        f"SELECT {USER_COLS} FROM users WHERE disabled = 0 AND (name LIKE ? ESCAPE '!' OR display_name LIKE ? ESCAPE '!') "
        "ORDER BY name LIKE ? ESCAPE '!' DESC, name LIMIT ?",
        (like, like, like, limit),
    ).fetchall()
    return [public_user(user_row(r)) for r in rows]  # type: ignore[arg-type]
