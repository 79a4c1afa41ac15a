"""Uploads paced by files.upload_bytes_per_s (chatd.http.pace) and written chunk by chunk (chatd.media.Spool).

The budget is tested on its arithmetic, with the clock given: the delays it
hands out, never how long anything took."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from chatd import media
from chatd.config import ConfigError, load
from chatd.http.pace import BytePace

from .test_files import token_of, upload


def test_no_budget_never_waits():
    pace = BytePace(0, 0)
    assert [pace.delay(10**9, now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert pace.taken == 3 * 10**9


def test_reservations_queue_at_the_rate():
    pace = BytePace(1000, 0)
    assert pace.delay(500, now=0.0) == pytest.approx(0.5)
    assert pace.delay(500, now=0.0) == pytest.approx(1.0)  # behind the first
    assert pace.delay(1000, now=0.5) == pytest.approx(1.5)  # 2.0 - 0.5
    assert pace.taken == 2000


def test_two_uploads_take_turns():
    pace = BytePace(1000, 0)
    a1, b1, a2, b2 = (pace.delay(250, now=0.0) for _ in range(4))
    assert (a1, b1, a2, b2) == pytest.approx((0.25, 0.5, 0.75, 1.0))


def test_an_idle_budget_saves_no_more_than_the_burst():
    pace = BytePace(1000, 300)
    pace.delay(1000, now=0.0)
    # Idle for 100 s: 300 bytes pass at once, the next ones wait at the rate.
    assert pace.delay(300, now=100.0) == 0.0
    assert pace.delay(100, now=100.0) == pytest.approx(0.1)


def test_the_setting_must_not_be_negative(tmp_path: Path):
    path = tmp_path / "chatd.toml"
    path.write_text("[files]\nupload_bytes_per_s = -1\n")
    with pytest.raises(ConfigError, match="files.upload_bytes_per_s"):
        load(path, environ={})
    path.write_text("[files]\nupload_bytes_per_s = 50000000\n")
    assert load(path, environ={}).files.upload_bytes_per_s == 50_000_000
    assert load(None, environ={"CHATD_FILES_UPLOAD_BYTES_PER_S": "0"}).files.upload_bytes_per_s == 0


def test_spool_writes_the_chunks_as_they_came(tmp_path: Path):
    chunks = [os.urandom(n % 97) for n in range(2 * media.IOV_BATCH + 5)]  # some empty, more than one writev
    spool = media.Spool(tmp_path, 0o600)
    try:
        spool.write(chunks[:10])
        spool.write(chunks[10:])
        data = b"".join(chunks)
        assert spool.size == len(data) and spool.hash.hexdigest() == hashlib.sha256(data).hexdigest()
        assert spool.path.read_bytes() == data
    finally:
        spool.discard()


@pytest.mark.parametrize("config_overrides", [{"files": {"upload_bytes_per_s": 20_000_000}}])
async def test_uploads_go_through_the_configured_budget(harness, users):
    pace = harness.server.http.asgi_app.files.pace
    assert pace.rate == 20_000_000
    alice = await token_of(harness, "alice")
    data = os.urandom(5 * 1024 * 1024 + 17)  # more than the burst: the last batches wait their turn
    resp = await upload(harness, alice, data)
    assert resp.status == 201, resp
    assert resp.json()["key"] == "chatd-file:" + hashlib.sha256(data).hexdigest()
    assert pace.taken == len(data)
