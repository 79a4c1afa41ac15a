"""`chatd backup`, `chatd restore` and `chatd export` (docs/operations.md), run as the operator
runs them: subprocesses beside a real `chatd serve`, which the test keeps writing to while the
backup is taken.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import trio

from . import helpers_proc as proc
from .test_cli import seed
from .test_ops import login


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _request(url: str, token: str, method: str, body: bytes | None, content_type: str) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=body, method=method, headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


async def call(served: proc.Served, token: str, method: str, path: str, body: Any = None, *, raw: bytes | None = None) -> Any:
    payload = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    ctype = "application/octet-stream" if raw is not None else "application/json"
    status, answer = await trio.to_thread.run_sync(_request, served.http_url + path, token, method, payload, ctype)
    assert status in (200, 201), (status, answer)
    return answer


async def tokens(served: proc.Served, *names: str) -> list[str]:
    out = []
    for name in names:
        status, body = await login(served, name)
        assert status == 200, body
        out.append(body["token"])
    return out


async def user_ids(served: proc.Served, token: str, *names: str) -> dict[str, int]:
    return {name: (await call(served, token, "GET", f"/api/v1/users?query={name}"))["users"][0]["id"] for name in names}


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


async def test_backup_while_the_server_writes_then_restore_into_a_new_directory(tmp_path, data):
    seed(data, ("alice", True, False), ("bob", False, False))
    dest = tmp_path / "backup"
    restored = tmp_path / "restored"
    blob = b"the bytes of an uploaded file " * 100
    async with proc.serve(data) as served:
        alice, bob = await tokens(served, "alice", "bob")
        ids = await user_ids(served, alice, "alice", "bob")
        bob_id = ids["bob"]
        key = (await call(served, alice, "POST", "/api/v1/files", raw=blob))["key"]
        for i in range(20):
            await call(served, alice, "POST", f"/api/v1/dms/{bob_id}/messages", {"content": text(f"before {i}")})
        sent_during = 0
        done = trio.Event()

        async def keep_writing() -> None:
            nonlocal sent_during
            while not done.is_set():
                await call(served, bob, "POST", f"/api/v1/dms/{ids['alice']}/messages", {"content": text(f"during {sent_during}")})
                sent_during += 1

        async with trio.open_nursery() as nursery:
            nursery.start_soon(keep_writing)
            res = await proc.run("backup", str(dest), "--data", str(data))
            done.set()
        assert res.returncode == 0, res
        assert "backup written" in res.stdout
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["schema_version"] >= 1 and manifest["missing_uploads"] == []
    sha = hashlib.sha256(blob).hexdigest()
    assert manifest["files"][f"files/{sha[:2]}/{sha}"] == {"size": len(blob), "sha256": sha}
    conn = sqlite3.connect(dest / "chatd.sqlite3")
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    (copied,) = conn.execute("SELECT COUNT(*) FROM messages").fetchone()
    conn.close()
    assert 20 <= copied <= 20 + sent_during

    res = await proc.run("restore", str(dest), "--data", str(restored))
    assert res.returncode == 0, res
    async with proc.serve(restored) as served:
        (alice,) = await tokens(served, "alice")
        texts: list[str] = []
        while True:  # every message, a page of 100 at a time, oldest first
            page = await call(served, alice, "GET", f"/api/v1/dms/{bob_id}/messages?after_seq={len(texts)}&limit=100")
            if not page["messages"]:
                break
            texts += [m["content"].get("text") for m in page["messages"]]
        assert texts == [f"before {i}" for i in range(20)] + [f"during {i}" for i in range(copied - 20)]
        assert await trio.to_thread.run_sync(_fetch_bytes, served.http_url + f"/api/v1/files/{key}", alice) == blob


def _fetch_bytes(url: str, token: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}), timeout=10) as resp:
        return resp.read()


async def test_restore_is_refused_beside_a_running_server_and_changes_nothing(tmp_path, data):
    seed(data, ("alice", True, False))
    dest = tmp_path / "backup"
    assert (await proc.run("backup", str(dest), "--data", str(data))).returncode == 0
    before = (data / "chatd.sqlite3").read_bytes()
    async with proc.serve(data):
        res = await proc.run("restore", str(dest), "--data", str(data), "--replace")
        assert res.returncode == 1, res
        assert "in use by another chatd serve" in res.stderr and "Traceback" not in res.stderr
    assert (data / "chatd.sqlite3").read_bytes() == before
    assert not list(data.glob("*.before-restore-*"))


def _rewrite_manifest(dest: Path) -> None:
    """Make the manifest agree with the files as they are now (a backup altered on purpose)."""
    manifest = json.loads((dest / "manifest.json").read_text())
    for rel, entry in manifest["files"].items():
        body = (dest / rel).read_bytes()
        entry.update(size=len(body), sha256=hashlib.sha256(body).hexdigest())
    (dest / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage", ["flipped_byte", "missing_file", "newer_schema", "not_a_backup", "corrupt_database"])
async def test_a_bad_backup_is_refused_before_anything_is_touched(tmp_path, data, damage):
    seed(data, ("alice", True, False))
    dest = tmp_path / "backup"
    assert (await proc.run("backup", str(dest), "--data", str(data))).returncode == 0
    db = dest / "chatd.sqlite3"
    if damage == "flipped_byte":
        body = bytearray(db.read_bytes())
        body[len(body) // 2] ^= 0xFF
        db.write_bytes(bytes(body))
        expected = "does not match its checksum"
    elif damage == "missing_file":
        db.unlink()
        expected = "missing"
    elif damage == "newer_schema":
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA user_version = 9999")
        conn.close()
        _rewrite_manifest(dest)
        expected = "schema version 9999"
    elif damage == "not_a_backup":
        (dest / "manifest.json").unlink()
        expected = "not a chatd backup"
    else:
        body = bytearray(db.read_bytes())
        page = 4096
        body[page * 2 : page * 2 + 64] = b"\xff" * 64  # an interior page's header: the b-tree is broken
        db.write_bytes(bytes(body))
        _rewrite_manifest(dest)
        expected = "integrity check"
    target = tmp_path / "target"
    res = await proc.run("restore", str(dest), "--data", str(target))
    assert res.returncode == 1, res
    assert expected in res.stderr and "Traceback" not in res.stderr, res
    assert not (target / "chatd.sqlite3").exists()


async def test_restore_over_an_existing_database_needs_replace_and_keeps_the_old_one(tmp_path, data):
    seed(data, ("alice", True, False))
    dest = tmp_path / "backup"
    assert (await proc.run("backup", str(dest), "--data", str(data))).returncode == 0
    other = tmp_path / "other"
    seed(other, ("zed", True, False))
    res = await proc.run("restore", str(dest), "--data", str(other))
    assert res.returncode == 1 and "--replace" in res.stderr, res
    res = await proc.run("restore", str(dest), "--data", str(other), "--replace")
    assert res.returncode == 0, res
    (kept,) = other.glob("chatd.sqlite3.before-restore-*")
    assert str(kept) in res.stdout
    names = lambda path: [r[0] for r in sqlite3.connect(path).execute("SELECT name FROM users ORDER BY name")]  # noqa: E731
    assert names(other / "chatd.sqlite3") == ["alice"]
    assert names(kept) == ["zed"]
    res = await proc.run("user", "list", "--data", str(other))
    assert "alice" in res.stdout and "zed" not in res.stdout


async def test_export_of_the_server_and_of_one_user(tmp_path, data):
    seed(data, ("alice", True, False), ("bob", False, False), ("carol", False, False))
    async with proc.serve(data) as served:
        alice, bob, carol = await tokens(served, "alice", "bob", "carol")
        ids = await user_ids(served, alice, "alice", "bob", "carol")
        a_b = await call(served, alice, "POST", f"/api/v1/dms/{ids['bob']}/messages", {"content": text("alice to bob 你好")})
        await call(served, bob, "POST", f"/api/v1/dms/{ids['alice']}/messages", {"content": text("bob to alice")})
        await call(served, bob, "POST", f"/api/v1/dms/{ids['carol']}/messages", {"content": text("bob to carol, private")})
        mid = a_b["message"]["id"]
        await call(served, alice, "POST", "/api/v1/commands/chat_dm_delete", {"peer": ids["bob"], "msg_ids": [mid]})
    whole = tmp_path / "all.json"
    res = await proc.run("export", "--data", str(data), "-o", str(whole))
    assert res.returncode == 0, res
    assert "exported 3 conversations, 3 messages" in res.stderr
    doc = json.loads(whole.read_text())
    assert doc["chatd_export"] == 1 and doc["user"] is None
    assert {u["name"] for u in doc["users"]} == {"alice", "bob", "carol"}
    assert not any("password" in key or "token" in key for u in doc["users"] for key in u)
    assert (whole.stat().st_mode & 0o777) == 0o600
    assert sorted(c["kind"] for c in doc["conversations"]) == ["broadcast", "dm", "dm"]
    texts = {m["content"]["text"] for c in doc["conversations"] for m in c["messages"]}
    assert texts == {"alice to bob 你好", "bob to alice", "bob to carol, private"}

    res = await proc.run("export", "--data", str(data), "--user", "alice")
    assert res.returncode == 0, res
    doc = json.loads(res.stdout)
    (conv,) = doc["conversations"]
    assert conv["kind"] == "dm" and conv["members"] == sorted([ids["alice"], ids["bob"]])
    assert [m["content"]["text"] for m in conv["messages"]] == ["bob to alice"]  # alice deleted hers for herself

    res = await proc.run("export", "--data", str(data), "--user", "nobody")
    assert res.returncode == 2 and "no user named 'nobody'" in res.stderr and "Traceback" not in res.stderr, res
