"""The configuration: config.example.toml against chatd.config, precedence, errors, `chatd check`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import msgspec
import pytest

from chatd.config import Config, ConfigError, load

from .helpers_proc import clean_env, run_sync

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def sections() -> dict[str, type[msgspec.Struct]]:
    """Every section of Config, read from the Struct itself (not from any table kept beside it)."""
    out = {}
    for f in msgspec.structs.fields(Config):
        assert isinstance(f.type, type) and issubclass(f.type, msgspec.Struct), f"Config.{f.name} is not a section"
        out[f.name] = f.type
    return out


def defaults() -> dict[str, dict[str, Any]]:
    return msgspec.to_builtins(Config())


def write(tmp_path: Path, text: str, name: str = "chatd.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- config.example.toml --------------------------------------------------------------


def test_example_decodes_to_the_defaults():
    assert load(EXAMPLE, environ={}) == Config()
    assert msgspec.toml.decode(EXAMPLE.read_bytes(), type=Config) == Config()


def test_example_has_every_key_of_every_section_with_its_default():
    data = tomllib.loads(EXAMPLE.read_text())
    want = defaults()
    assert set(data) == set(sections()), "the example's sections differ from Config's"
    for name, struct in sections().items():
        assert set(data[name]) == set(struct.__struct_fields__), f"[{name}] keys differ from {struct.__name__}"
        for key in struct.__struct_fields__:
            assert data[name][key] == want[name][key], f"{name}.{key}: the example says {data[name][key]!r}, the default is {want[name][key]!r}"
            assert type(data[name][key]) is type(want[name][key]), f"{name}.{key}: written as {type(data[name][key]).__name__}"


def _documented_keys(text: str) -> dict[tuple[str, str], str]:
    """(section, key) -> the comment block right above the key's line."""
    out: dict[tuple[str, str], str] = {}
    section, comment = "", []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#"):
            comment.append(s.lstrip("#").strip())
            continue
        if m := re.fullmatch(r"\[(\w+)\]", s):
            section, comment = m.group(1), []
            continue
        if m := re.match(r"(\w+)\s*=", s):
            out[(section, m.group(1))] = " ".join(comment)
        comment = []
    return out


# The unit a key's name promises, and a word its comment must use for it.
UNITS = {"_s": "second", "_ms": "millisecond", "_bytes": "byte", "_mb": "mib", "_kib": "kib", "_days": "day"}


def test_every_key_has_a_comment_with_its_unit():
    documented = _documented_keys(EXAMPLE.read_text())
    for name, struct in sections().items():
        for key in struct.__struct_fields__:
            comment = documented.get((name, key))
            assert comment, f"{name}.{key} has no comment right above it in config.example.toml"
            assert len(comment.split()) >= 4, f"{name}.{key}: the comment says too little: {comment!r}"
            for suffix, unit in UNITS.items():
                if key.endswith(suffix):
                    assert unit in comment.lower(), f"{name}.{key}: the comment does not give the unit ({unit}): {comment!r}"


# -- precedence: flags > CHATD_* environment > file > defaults ---------------------------


def test_precedence(tmp_path):
    path = write(tmp_path, '[server]\nlisten = "127.0.0.1:1001"\nmax_frame_bytes = 1000\n[storage]\nbatch_max = 7\n')
    env = {"CHATD_SERVER_LISTEN": "127.0.0.1:1002", "CHATD_STORAGE_DURABILITY": "normal"}
    flags = {"server": {"listen": "127.0.0.1:1003"}}

    assert load(None, environ={}).server.listen == Config().server.listen

    from_file = load(path, environ={})
    assert from_file.server.listen == "127.0.0.1:1001"
    assert from_file.server.max_frame_bytes == 1000
    assert from_file.storage.durability == "full"

    from_env = load(path, environ=env)
    assert from_env.server.listen == "127.0.0.1:1002"
    assert from_env.storage.durability == "normal"
    # A layer overrides key by key: the file's other keys in the same sections stay.
    assert from_env.server.max_frame_bytes == 1000
    assert from_env.storage.batch_max == 7

    from_flags = load(path, environ=env, flags=flags)
    assert from_flags.server.listen == "127.0.0.1:1003"
    assert from_flags.storage.durability == "normal"
    assert from_flags.server.max_frame_bytes == 1000
    # Everything not set anywhere keeps its default.
    assert from_flags.limits == Config().limits


def test_flags_over_defaults_without_file_or_environment(tmp_path):
    cfg = load(None, environ={}, flags={"server": {"data_dir": str(tmp_path), "listen": "127.0.0.1:0"}})
    assert cfg.server.data_dir == str(tmp_path)
    assert cfg.db_path == tmp_path / "chatd.sqlite3"
    assert cfg.listen_host_port == ("127.0.0.1", 0)


def test_environment_names_the_config_file(tmp_path):
    path = write(tmp_path, "[limits]\nsend_burst = 3\n")
    assert load(None, environ={"CHATD_CONFIG": str(path)}).limits.send_burst == 3


def test_every_key_can_be_set_from_the_environment():
    """CHATD_<SECTION>_<KEY> exists for every key; values arrive as text and are typed by the key."""
    want = defaults()
    env = {
        f"CHATD_{name.upper()}_{key.upper()}": msgspec.json.encode(value).decode() if isinstance(value, list) else str(value)
        for name, values in want.items()
        for key, value in values.items()
    }
    assert load(None, environ=env) == Config()
    cfg = load(None, environ={"CHATD_SERVER_MAX_FRAME_BYTES": "1024", "CHATD_LIMITS_SEND_RATE_PER_S": "2.5", "CHATD_AUTH_TOKEN_TTL_DAYS": "2"})
    assert (cfg.server.max_frame_bytes, cfg.limits.send_rate_per_s, cfg.auth.token_ttl_days) == (1024, 2.5, 2)


# -- errors name the key -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, key",
    [
        ('[server]\nlistn = "127.0.0.1:1"\n', "server.listn"),
        ("[storage]\nbatch_maximum = 3\n", "storage.batch_maximum"),
        ("[srever]\nlisten = 1\n", "srever"),
        ("debug = true\n", "debug"),
    ],
)
def test_unknown_key_in_file(tmp_path, text, key):
    with pytest.raises(ConfigError) as exc:
        load(write(tmp_path, text), environ={})
    assert key in str(exc.value)
    assert "unknown" in str(exc.value)


@pytest.mark.parametrize("name", ["CHATD_SERVER_LISTN", "CHATD_SRVR_LISTEN", "CHATD_STORAGE", "CHATD_LIMITS_SEND_RATE"])
def test_unknown_environment_variable(name):
    with pytest.raises(ConfigError) as exc:
        load(None, environ={name: "1"})
    assert name in str(exc.value)


def test_other_environment_variables_are_ignored():
    assert load(None, environ={"HOME": "/nowhere", "CHATDX_SERVER_LISTEN": "x", "PATH": "/bin"}) == Config()


@pytest.mark.parametrize(
    "text, key",
    [
        ('[server]\nmax_frame_bytes = "big"\n', "server.max_frame_bytes"),
        ("[server]\nlisten = 8080\n", "server.listen"),
        ('[storage]\ndurability = "sometimes"\n', "storage.durability"),
        ("[limits]\nsend_burst = 1.5\n", "limits.send_burst"),
        ("server = 5\n", "server"),
    ],
)
def test_wrong_type_in_file(tmp_path, text, key):
    with pytest.raises(ConfigError) as exc:
        load(write(tmp_path, text), environ={})
    assert key in str(exc.value)


def test_wrong_type_in_environment():
    with pytest.raises(ConfigError) as exc:
        load(None, environ={"CHATD_SERVER_MAX_FRAME_BYTES": "lots"})
    assert "server.max_frame_bytes" in str(exc.value)


@pytest.mark.parametrize(
    "text, key",
    [
        ('[server]\nlisten = "no-port"\n', "server.listen"),
        ("[server]\nmax_frame_bytes = 0\n", "server.max_frame_bytes"),
        ("[storage]\nreader_threads = -1\n", "storage.reader_threads"),
        ("[server]\nheartbeat_interval_s = 30.0\nheartbeat_timeout_s = 30.0\n", "server.heartbeat_timeout_s"),
        ("[messages]\nrecall_window_s = -1\n", "messages.recall_window_s"),
        ("[auth]\nhash_memory_kib = 0\n", "auth.hash_memory_kib"),
        ("[auth]\nhash_memory_kib = -12288\n", "auth.hash_memory_kib"),
        ("[auth]\nhash_memory_kib = 4294967296\n", "auth.hash_memory_kib"),
        ("[auth]\nhash_time_cost = 0\n", "auth.hash_time_cost"),
        ("[auth]\nhash_parallelism = 0\n", "auth.hash_parallelism"),
        ("[auth]\nhash_parallelism = 16777216\n", "auth.hash_parallelism"),
        ("[auth]\nhash_parallelism = 4\nhash_memory_kib = 31\n", "auth.hash_memory_kib"),
        ('[push]\nvapid_subject = "mailto:ops@example"\n', "push.vapid_subject"),
        ('[push]\nvapid_subject = "https://example.com/contact"\n', "push.vapid_subject"),
        ("[push]\nqueue_size = 0\n", "push.queue_size"),
        ("[push]\nidle_after_s = -1\n", "push.idle_after_s"),
    ],
)
def test_bad_value_in_file(tmp_path, text, key):
    with pytest.raises(ConfigError) as exc:
        load(write(tmp_path, text), environ={})
    assert key in str(exc.value)


def test_unreadable_or_malformed_file(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load(tmp_path / "missing.toml", environ={})
    assert "missing.toml" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load(write(tmp_path, "[server\nlisten = \n"), environ={})
    assert "TOML" in str(exc.value)


# -- chatd check ------------------------------------------------------------------------------


def test_check_accepts_the_example_and_a_good_file(tmp_path):
    res = run_sync("check", "--config", str(EXAMPLE))
    assert res.returncode == 0, res
    good = write(tmp_path, '[server]\nlisten = "127.0.0.1:9999"\n[storage]\ndurability = "full"\n')
    res = run_sync("check", "--config", str(good))
    assert res.returncode == 0, res
    assert "127.0.0.1:9999" in res.stdout


@pytest.mark.parametrize(
    "text, key",
    [
        ("[server]\nmax_frame_byts = 10\n", "server.max_frame_byts"),
        ('[storage]\ncache_mb = "a lot"\n', "storage.cache_mb"),
    ],
)
def test_check_refuses_a_bad_file_with_exit_2(tmp_path, text, key):
    res = run_sync("check", "--config", str(write(tmp_path, text)))
    assert res.returncode == 2, res
    assert key in res.stderr


def test_check_refuses_a_bad_environment_variable_with_exit_2():
    res = run_sync("check", "--config", str(EXAMPLE), env=clean_env(CHATD_SERVER_LISTN="127.0.0.1:1"))
    assert res.returncode == 2, res
    assert "CHATD_SERVER_LISTN" in res.stderr
