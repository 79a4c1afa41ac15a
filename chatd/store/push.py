"""Push devices, push settings and the server's VAPID key (chatd.services.push, docs/push.md).

A push device belongs to the login token that registered it: the foreign key deletes it with
the token (a new password, a disabled account, a bot's new token, an expired token swept at
the next login), and devices of tokens past their expiry are never pushed to.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import ChatError
from .users import token_hash

# The migration (chatd.store.migrations lists it).
MIGRATION = """
CREATE TABLE IF NOT EXISTS push_devices (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL REFERENCES tokens(token_hash) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('webpush', 'unifiedpush', 'gateway')),
    endpoint TEXT NOT NULL,
    p256dh TEXT NOT NULL DEFAULT '',
    auth TEXT NOT NULL DEFAULT '',
    pushkey TEXT NOT NULL DEFAULT '',
    app_id TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    last_success INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS push_devices_endpoint ON push_devices(endpoint, pushkey);
CREATE INDEX IF NOT EXISTS push_devices_user ON push_devices(user_id);
CREATE INDEX IF NOT EXISTS push_devices_token ON push_devices(token_hash);
CREATE TABLE IF NOT EXISTS push_settings (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    dnd INTEGER NOT NULL DEFAULT 0,
    groups TEXT NOT NULL DEFAULT 'all',
    previews INTEGER                  -- NULL: the server's default (push.previews)
);
CREATE TABLE IF NOT EXISTS push_vapid (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    private_pem TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
"""

_COLS = "d.id, d.kind, d.endpoint, d.app_id, t.device, d.created_at, d.last_success, d.failures"


def _device(row: Any) -> dict[str, Any]:
    return dict(zip(("id", "kind", "endpoint", "app_id", "device", "created_at", "last_success", "failures"), row))


# --- the VAPID key ----------------------------------------------------------------------------


def op_vapid_key(ctx: Any, new_pem: str) -> str:
    """The server's VAPID private key (PEM): the stored one, or `new_pem` stored now (first start)."""
    ctx.conn.execute("INSERT OR IGNORE INTO push_vapid (id, private_pem, created_at) VALUES (1, ?, ?)", (new_pem, ctx.now))
    return ctx.conn.execute("SELECT private_pem FROM push_vapid WHERE id = 1").fetchone()[0]  # type: ignore[no-any-return]


# --- devices ----------------------------------------------------------------------------------


def register(ctx: Any, user_id: int, token: str, kind: str, endpoint: str, keys: tuple[str, str], pushkey: str, app_id: str, most: int) -> dict[str, Any]:
    """Store a device (the same endpoint and pushkey again: updated, and now this token's)."""
    conn, th = ctx.conn, token_hash(token)
    if conn.execute("SELECT 1 FROM tokens WHERE token_hash = ?", (th,)).fetchone() is None:
        raise ChatError("conflict", "this connection's login token was revoked: log in again")
    row = conn.execute("SELECT id, user_id FROM push_devices WHERE endpoint = ? AND pushkey = ?", (endpoint, pushkey)).fetchone()
    if row is None or row[1] != user_id:
        (count,) = conn.execute("SELECT COUNT(*) FROM push_devices WHERE user_id = ?", (user_id,)).fetchone()
        if count >= most:
            raise ChatError("conflict", f"at most {most} push devices: unregister one first")
    p256dh, auth = keys
    if row is None:
        conn.execute(
            "INSERT INTO push_devices (user_id, token_hash, kind, endpoint, p256dh, auth, pushkey, app_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (user_id, th, kind, endpoint, p256dh, auth, pushkey, app_id, ctx.now),
        )
    else:
        conn.execute(
            "UPDATE push_devices SET user_id = ?, token_hash = ?, kind = ?, p256dh = ?, auth = ?, app_id = ?, failures = 0 WHERE id = ?",
            (user_id, th, kind, p256dh, auth, app_id, row[0]),
        )
    found = conn.execute(
        f"SELECT {_COLS} FROM push_devices d JOIN tokens t ON t.token_hash = d.token_hash WHERE d.endpoint = ? AND d.pushkey = ?", (endpoint, pushkey)
    ).fetchone()
    return _device(found)


def unregister(conn: sqlite3.Connection, user_id: int, device_id: int) -> None:
    if conn.execute("DELETE FROM push_devices WHERE id = ? AND user_id = ?", (device_id, user_id)).rowcount == 0:
        raise ChatError("not_found", "no such push device of yours", field="device_id")


def devices(conn: sqlite3.Connection, user_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(f"SELECT {_COLS} FROM push_devices d JOIN tokens t ON t.token_hash = d.token_hash WHERE d.user_id = ? ORDER BY d.id", (user_id,))
    return [_device(row) for row in rows]


def users_with_devices(conn: sqlite3.Connection) -> set[int]:
    return {uid for (uid,) in conn.execute("SELECT DISTINCT user_id FROM push_devices")}


# --- settings ---------------------------------------------------------------------------------


def settings(conn: sqlite3.Connection, user_id: int, default_previews: bool) -> dict[str, Any]:
    row = conn.execute("SELECT dnd, groups, previews FROM push_settings WHERE user_id = ?", (user_id,)).fetchone()
    if row is None:
        return {"dnd": False, "groups": "all", "previews": default_previews}
    return {"dnd": bool(row[0]), "groups": row[1], "previews": default_previews if row[2] is None else bool(row[2])}


def set_settings(conn: sqlite3.Connection, user_id: int, dnd: bool | None, groups: str | None, previews: bool | None) -> None:
    conn.execute("INSERT OR IGNORE INTO push_settings (user_id) VALUES (?)", (user_id,))
    if dnd is not None:
        conn.execute("UPDATE push_settings SET dnd = ? WHERE user_id = ?", (int(dnd), user_id))
    if groups is not None:
        conn.execute("UPDATE push_settings SET groups = ? WHERE user_id = ?", (groups, user_id))
    if previews is not None:
        conn.execute("UPDATE push_settings SET previews = ? WHERE user_id = ?", (int(previews), user_id))


# --- what the push service reads and writes ---------------------------------------------------


def targets(conn: sqlite3.Connection, user_ids: list[int], conv_id: int, now: int, default_previews: bool) -> list[dict[str, Any]]:
    """For each of these users with a device of a live token: their settings, whether they muted
    the conversation, their unread count in it, and their devices (with the keys to push). One query."""
    if not user_ids:
        return []
    marks = ",".join("?" * len(user_ids))
    rows = conn.execute(
        "SELECT d.user_id, d.id, d.kind, d.endpoint, d.p256dh, d.auth, d.pushkey, d.app_id, d.created_at, d.last_success, d.failures, "
        "s.dnd, s.groups, s.previews, m.notify_muted, c.last_seq - m.last_read_seq "
        "FROM push_devices d JOIN tokens t ON t.token_hash = d.token_hash "
        "LEFT JOIN push_settings s ON s.user_id = d.user_id "
        "LEFT JOIN members m ON m.conv_id = ? AND m.user_id = d.user_id LEFT JOIN conversations c ON c.id = m.conv_id "
        f"WHERE d.user_id IN ({marks}) AND t.expires_at > ? ORDER BY d.id",
        (conv_id, *user_ids, now),
    ).fetchall()
    by_user: dict[int, dict[str, Any]] = {}
    for row in rows:
        uid = row[0]
        entry = by_user.get(uid)
        if entry is None:
            dnd, groups, previews, muted, unread = row[11:]
            entry = by_user[uid] = {
                "user_id": uid, "devices": [], "dnd": bool(dnd), "groups": groups or "all",
                "previews": default_previews if previews is None else bool(previews), "muted": bool(muted), "unread": max(0, unread or 0),
            }  # fmt: skip
        entry["devices"].append(
            dict(zip(("id", "kind", "endpoint", "p256dh", "auth", "pushkey", "app_id", "created_at", "last_success", "failures"), row[1:11]))
        )
    return list(by_user.values())


def op_delivered(ctx: Any, device_id: int) -> None:
    ctx.conn.execute("UPDATE push_devices SET last_success = ?, failures = 0 WHERE id = ?", (ctx.now, device_id))


def op_failed(ctx: Any, device_id: int) -> None:
    ctx.conn.execute("UPDATE push_devices SET failures = failures + 1 WHERE id = ?", (device_id,))


def op_gone(ctx: Any, device_ids: list[int]) -> None:
    """The push service or gateway said these are gone (404, 410, a gateway's `rejected`)."""
    ctx.conn.executemany("DELETE FROM push_devices WHERE id = ?", [(d,) for d in device_ids])
