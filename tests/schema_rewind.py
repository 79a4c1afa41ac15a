"""Take a migrated test database back to an earlier schema version, so that the migrations after
it run again over the data the test wrote: every column a later migration adds is dropped first
(the tables and indexes they make are created IF NOT EXISTS, so those stay)."""

from __future__ import annotations

import sqlite3

# migration -> the columns it adds (tests/test_schema_rewind.py checks this against the SQL)
ADDED_COLUMNS = {
    7: [("users", "stored_bytes"), ("messages", "edit_count")],
    14: [("messages", "forwarded")],
    15: [("members", "sort_order"), ("members", "removed_seq")],
    16: [("users", "translation_language")],
    17: [("communities", "assignments_version")],
    20: [("users", "is_bot")],
    21: [("messages", "stream_state")],
    24: [("users", "directory_admin")],
}


# The indexes on those columns, dropped first (SQLite refuses to drop an indexed column).
ADDED_INDEXES = {
    21: ["messages_streaming"],
}


def rewind(conn: sqlite3.Connection, version: int) -> None:
    """The schema as of `version`, as far as the migrations after it will need (then call
    schema.migrate to run them again)."""
    for number, indexes in ADDED_INDEXES.items():
        if number > version:
            for index in indexes:
                conn.execute(f"DROP INDEX IF EXISTS {index}")
    for number, columns in ADDED_COLUMNS.items():
        if number > version:
            for table, column in columns:
                conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.execute(f"PRAGMA user_version = {version}")
