"""tests/schema_rewind.py knows every column the migrations add, so a test that runs the
migrations again from an earlier version fails for its own reasons, not for a forgotten column."""

from __future__ import annotations

import re

from chatd.store.migrations import MIGRATIONS

from .schema_rewind import ADDED_COLUMNS


def test_every_added_column_is_known():
    added = {}
    for number, step in enumerate(MIGRATIONS, start=1):
        if isinstance(step, str):
            found = re.findall(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", step)
            if found:
                added[number] = found
    assert added == ADDED_COLUMNS
