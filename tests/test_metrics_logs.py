"""/metrics and the server's log lines (docs/operations.md), from a real `chatd serve`: scraped
and parsed with prometheus-client's own parser, logs read as JSON lines from its stderr.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from chatd.client import ClientError, connect
from chatd.logs import JsonFormatter
from chatd.metrics import exposition

from . import helpers_proc as proc
from .conftest import PASSWORD
from .test_cli import seed
from .test_ops import login


@pytest.fixture
def data(tmp_path: Path) -> Path:
    seed(tmp_path / "data", ("alice", True, False), ("bob", False, False))
    return tmp_path / "data"


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


async def get(url: str) -> tuple[int, str]:
    return await trio.to_thread.run_sync(_get, url)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def env(**settings: str) -> dict[str, str]:
    return proc.clean_env(**{f"CHATD_{k.upper()}": v for k, v in settings.items()})


async def test_metrics_count_what_the_server_did(data):
    async with proc.serve(data, env=env(metrics_enabled="true")) as served:
        assert "metrics on " + served.http_url + "/metrics " in await served.wait_for_line("metrics on ")
        status, _ = await login(served, "alice", "wrong password")
        assert status == 401
        status, _ = await login(served, "alice")
        assert status == 200
        async with connect(served.ws_url) as alice, connect(served.ws_url) as bob:
            await alice.login("alice", PASSWORD)
            await bob.login("bob", PASSWORD)
            await alice.call("chat_conversation_list", {})
            with pytest.raises(ClientError):
                await alice.request("chat_dm_send", {"peer": 999999, "content": {"type": "text", "text": "to nobody"}})
            await alice.request("chat_dm_send", {"peer": 2, "content": {"type": "text", "text": "hello"}})
            status, text = await get(served.http_url + "/metrics")
            assert status == 200, text
            got = samples(text)
            await bob.next_push("chat_message")
            assert got[("chatd_connections", (("state", "logged_in"),))] == 2
            assert got[("chatd_users_online", ())] == 2
        assert got[("chatd_logins_total", (("result", "auth_failed"), ("via", "http")))] == 1
        assert got[("chatd_logins_total", (("result", "ok"), ("via", "http")))] == 1
        assert got[("chatd_logins_total", (("result", "ok"), ("via", "ws")))] == 2
        assert got[("chatd_commands_total", (("command", "chat_dm_send"), ("result", "ok")))] == 1
        assert got[("chatd_commands_total", (("command", "chat_dm_send"), ("result", "not_found")))] == 1
        assert got[("chatd_command_seconds_count", (("command", "chat_dm_send"),))] == 2
        assert got[("chatd_command_seconds_bucket", (("command", "chat_dm_send"), ("le", "+Inf")))] == 2
        assert got[("chatd_writer_batch_ops_count", ())] >= 1
        assert got[("chatd_writer_commit_seconds_count", ())] == got[("chatd_writer_batch_ops_count", ())]
        assert got[("chatd_fanout_deliveries_total", ())] >= 1
        assert ("chatd_queue_depth", (("queue", "writer"),)) in got
        assert got[("chatd_process_resident_memory_bytes", ())] > 0


async def test_metrics_are_off_by_default_and_refused_to_other_addresses(data):
    async with proc.serve(data) as served:
        status, _ = await get(served.http_url + "/metrics")
        assert status == 404
    async with proc.serve(data, env=env(metrics_enabled="true", metrics_allow_from="10.0.0.0/8")) as served:
        status, text = await get(served.http_url + "/metrics")
        assert status == 403 and "metrics.allow_from" in text


async def test_metrics_on_an_address_of_their_own(data):
    async with proc.serve(data, env=env(metrics_enabled="true", metrics_listen="127.0.0.1:0")) as served:
        line = await served.wait_for_line("metrics on ")
        url = line.split("metrics on ", 1)[1].split()[0]
        assert not url.startswith(served.http_url)
        status, text = await get(url)
        assert status == 200 and "chatd_commands_total" in text
        status, _ = await get(served.http_url + "/metrics")  # not on the public address
        assert status == 404


class Captured(logging.Handler):
    """chatd's log records as `log.format = "json"` writes them; a test waits for the line it expects."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []
        self.token = trio.lowlevel.current_trio_token()
        self.changed = trio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))
        self.token.run_sync_soon(self.changed.set)  # records may come from worker threads too

    async def wait_for(self, pred: Any) -> dict[str, Any]:
        with trio.fail_after(10):
            while True:
                for line in self.lines:
                    if pred(line):
                        return line
                self.changed = trio.Event()
                await self.changed.wait()


@pytest.fixture
async def captured() -> Any:
    handler = Captured()
    logger = logging.getLogger("chatd")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.mark.parametrize("config_overrides", [{"limits": {"frames_per_s": 5, "frames_burst": 4}}])
async def test_logs_name_logins_closes_moderation_and_limits_never_secrets(harness, users, captured):
    async with harness.client() as alice:
        token = (await alice.login("alice", PASSWORD, device="laptop"))["token"]
        await alice.request("chat_broadcast_send", {"content": {"type": "text", "text": "secret announcement body"}})
        refused = 0
        for _ in range(8):  # over the frame budget: one line, however many frames
            try:
                await alice.request("ping", {})
            except ClientError:
                refused += 1
        assert refused
    ok = await captured.wait_for(lambda e: e.get("event") == "login" and e.get("result") == "ok")
    assert ok["user"] == "alice" and ok["device"] == "laptop" and ok["via"] == "ws" and ok["address"] == "127.0.0.1"
    closed = await captured.wait_for(lambda e: e["message"].startswith("connection closed") and e["user"] == "alice")
    assert closed["code"] == 1000 and closed["by"] == "client" and closed["device"] == "laptop" and closed["duration_s"] >= 0
    # Counted as it is logged.
    assert samples(exposition(harness.server).decode())[("chatd_connections_closed_total", (("code", "1000"),))] == 1
    action = await captured.wait_for(lambda e: e.get("action") == "chat_broadcast_send")
    assert action["user"] == "alice" and action["level"] == "info"
    limit = await captured.wait_for(lambda e: e.get("limit") == "limits.frames_per_s")
    assert limit["who"] == "user 'alice'"
    assert sum(1 for e in captured.lines if e.get("limit") == "limits.frames_per_s") == 1
    text = json.dumps(captured.lines, ensure_ascii=False)
    assert PASSWORD not in text and "secret announcement body" not in text and token not in text


async def test_log_format_json_from_the_command_line(data):
    async with proc.serve(data, env=env(log_format="json")) as served:
        status, _ = await login(served, "alice")
        assert status == 200
        # The login's line is written before its answer is sent.
        lines = [json.loads(line) for line in served.stderr().splitlines() if line.strip()]
        (line,) = [e for e in lines if e.get("event") == "login"]
        assert line["result"] == "ok" and line["via"] == "http" and line["logger"] == "chatd.auth"
