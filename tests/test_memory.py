"""What `chatd serve` keeps in memory from the start (docs/memory.md): the modules it imports.

A subprocess imports the command and the server as `chatd serve` does and lists what it
loaded; what serving needs only later (the HTTP side, on its first connection) or never
(the YAML registry, the generators) must not be among them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NOT_AT_START = (
    "yaml",  # the registry is read through the generated chatd/protocol/requests.py
    "chatd.protocol.registry",
    "chatd.protocol.docgen",
    "chatd.protocol.structgen",
    "chatd.protocol.requestgen",
    "chatd.http.bridge",  # the HTTP side loads at its first connection (chatd.http.side)
    "hypercorn",
    "h11",
    "h2",
    "wsproto",
    "platformdirs",  # only for the default data directory, when server.data_dir is not set
    "getpass",  # only to prompt for a password (chatd user add/passwd)
)


def test_serving_imports_only_what_it_needs_at_start():
    code = "import sys, chatd.cli, chatd.server; print('\\n'.join(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=ROOT)
    loaded = set(out.stdout.split())
    assert "chatd.server" in loaded
    assert sorted(m for m in NOT_AT_START if m in loaded) == []


def test_the_disabled_accounts_watch_reads_an_index_not_every_user(tmp_path):
    """users.op_disabled_if_changed runs at start and whenever another process commits: a scan
    of the users table would leave all of it in the writer's page cache (1.5 MB at 10,000 users)."""
    from chatd.store import schema
    from chatd.store.db import connect

    conn = connect(tmp_path / "chatd.sqlite3")
    try:
        schema.migrate(conn)
        plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN SELECT id FROM users WHERE disabled = 1"))
    finally:
        conn.close()
    assert "USING INDEX users_disabled" in plan or "USING COVERING INDEX users_disabled" in plan, plan
