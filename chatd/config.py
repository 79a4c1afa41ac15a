"""Typed configuration: defaults, then the TOML file, then CHATD_* environment, then flags.

Every key is documented in config.example.toml; a test decodes that file against
these Structs, so the two cannot drift apart. Unknown keys are errors.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import msgspec

from .store.files import parse_mode


class ConfigError(Exception):
    """A bad configuration: the message names the key and why."""


class Base(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class ServerConfig(Base):
    listen: str = "127.0.0.1:8080"
    data_dir: str = ""
    max_frame_bytes: int = 262144
    login_timeout_s: float = 10.0
    heartbeat_interval_s: float = 30.0
    heartbeat_timeout_s: float = 90.0
    backlog_max_bytes: int = 4 * 1024 * 1024
    shutdown_grace_s: float = 5.0
    max_fragments: int = 64
    max_connections_per_ip: int = 512
    http_body_timeout_s: float = 30.0
    http_body_min_bytes_per_s: float = 32768.0
    http_keepalive_timeout_s: float = 30.0
    http2: bool = False
    allowed_origins: list[str] = msgspec.field(default_factory=list)
    trusted_proxies: list[str] = msgspec.field(default_factory=list)


class StorageConfig(Base):
    durability: Literal["normal", "full"] = "full"
    batch_max: int = 512
    queue_max: int = 4096
    reader_threads: int = 4
    cache_mb: int = 16
    dir_mode: str = "0700"
    file_mode: str = "0600"
    write_probe_s: float = 5.0


class LimitsConfig(Base):
    send_rate_per_s: float = 50.0
    send_burst: int = 200
    max_text_chars: int = 16000
    max_content_bytes: int = 65536
    typing_interval_ms: int = 2000
    max_control_bytes: int = 4096
    user_write_rate_per_s: float = 50.0
    user_write_burst: int = 300
    frames_per_s: float = 200.0
    frames_burst: int = 1000
    max_edits_per_message: int = 50
    max_edit_history_bytes: int = 262144
    user_storage_bytes: int = 0


class MessagesConfig(Base):
    recall_window_s: int = 120
    recall_batch_max: int = 100
    forward_max_targets: int = 20
    forward_max_messages: int = 100


class AuthConfig(Base):
    token_ttl_days: int = 30
    reveal_disabled: bool = False
    address_failures: int = 20
    account_failures: int = 5
    backoff_base_ms: int = 1000
    backoff_max_ms: int = 300000
    forget_failures_s: int = 900
    throttle_max_keys: int = 100000
    hash_slots: int = 2
    queue_per_address: int = 64
    hash_memory_kib: int = 12288
    hash_time_cost: int = 3
    hash_parallelism: int = 1


class GroupsConfig(Base):
    max_members: int = 2000


class RoomsConfig(Base):
    create: Literal["admins", "everyone"] = "admins"
    kick_ban_s: int = 600


class SocialConfig(Base):
    friend_request_ttl_s: int = 604800
    friend_requests_per_hour: int = 30


class FilesConfig(Base):
    max_file_bytes: int = 100 * 1024 * 1024
    user_quota_bytes: int = 0
    max_image_pixels: int = 50_000_000
    thumb_px: int = 320
    gc_after_s: int = 86400
    gc_interval_s: int = 3600
    upload_bytes_per_s: int = 20_000_000  # bytes per second, all uploads together; 0: no budget


class IceServer(Base):
    urls: list[str] = msgspec.field(default_factory=list)
    username: str = ""
    credential: str = ""


class CallsConfig(Base):
    ring_timeout_s: float = 45.0
    reconnect_grace_s: float = 20.0
    max_sdp_bytes: int = 65536
    max_candidates: int = 200
    max_buffered_signals: int = 64
    mesh_max_participants: int = 6
    ice_servers: list[IceServer] = msgspec.field(default_factory=list)
    turn_urls: list[str] = msgspec.field(default_factory=list)
    turn_secret_file: str = ""
    turn_ttl_s: int = 86400


class BotsConfig(Base):
    stream_idle_timeout_s: float = 60.0
    stream_push_interval_ms: int = 50
    stream_flush_interval_ms: int = 1000


class PushConfig(Base):
    enabled: bool = True
    previews: bool = False  # the default of a user who has not chosen (push_settings_set)
    allow_private_endpoints: bool = False  # tests and closed networks only: http and private addresses
    vapid_subject: str = "mailto:chatd@localhost"
    connect_timeout_s: float = 5.0
    request_timeout_s: float = 10.0
    idle_after_s: float = 0.0  # 0: any live connection means no push
    queue_size: int = 10000
    concurrency: int = 16
    max_attempts: int = 4
    retry_base_s: float = 1.0
    retry_max_s: float = 300.0
    breaker_failures: int = 5
    breaker_open_s: float = 60.0
    max_devices_per_user: int = 20


class Config(Base):
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    storage: StorageConfig = msgspec.field(default_factory=StorageConfig)
    limits: LimitsConfig = msgspec.field(default_factory=LimitsConfig)
    messages: MessagesConfig = msgspec.field(default_factory=MessagesConfig)
    auth: AuthConfig = msgspec.field(default_factory=AuthConfig)
    groups: GroupsConfig = msgspec.field(default_factory=GroupsConfig)
    rooms: RoomsConfig = msgspec.field(default_factory=RoomsConfig)
    social: SocialConfig = msgspec.field(default_factory=SocialConfig)
    files: FilesConfig = msgspec.field(default_factory=FilesConfig)
    calls: CallsConfig = msgspec.field(default_factory=CallsConfig)
    bots: BotsConfig = msgspec.field(default_factory=BotsConfig)
    push: PushConfig = msgspec.field(default_factory=PushConfig)

    @property
    def data_path(self) -> Path:
        if self.server.data_dir:
            return Path(self.server.data_dir).expanduser()
        import platformdirs  # only for the default directory: it brings tempfile, shutil and more

        return Path(platformdirs.user_data_dir("chatd", appauthor=False))

    @property
    def db_path(self) -> Path:
        return self.data_path / "chatd.sqlite3"

    @property
    def dir_mode(self) -> int:
        return parse_mode(self.storage.dir_mode)

    @property
    def file_mode(self) -> int:
        return parse_mode(self.storage.file_mode)

    @property
    def listen_host_port(self) -> tuple[str, int]:
        return parse_listen(self.server.listen)


SECTIONS = {f: t for f, t in zip(Config.__struct_fields__, (ServerConfig, StorageConfig, LimitsConfig, MessagesConfig, AuthConfig, GroupsConfig, RoomsConfig, SocialConfig, FilesConfig, CallsConfig, BotsConfig, PushConfig))}


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not (0 <= int(port) <= 65535):
        raise ConfigError(f"server.listen: expected HOST:PORT, got {value!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


# What py_vapid signs: a mail address whose domain has a dot (or is localhost), or an https origin.
_VAPID_SUBJECT = re.compile(r"mailto:[^@\s]+@(localhost|[\w-]+(\.[\w-]+)+)|https://(localhost|[\w-]+\.[\w.-]+)", re.IGNORECASE)
_PUSH_POSITIVE = (
    "connect_timeout_s", "request_timeout_s", "queue_size", "concurrency", "max_attempts", "retry_base_s", "retry_max_s",
    "breaker_failures", "breaker_open_s", "max_devices_per_user",
)


def _validate(cfg: Config) -> Config:
    parse_listen(cfg.server.listen)
    positive = {
        "server.max_frame_bytes": cfg.server.max_frame_bytes,
        "server.login_timeout_s": cfg.server.login_timeout_s,
        "server.heartbeat_interval_s": cfg.server.heartbeat_interval_s,
        "server.heartbeat_timeout_s": cfg.server.heartbeat_timeout_s,
        "server.backlog_max_bytes": cfg.server.backlog_max_bytes,
        "server.max_fragments": cfg.server.max_fragments,
        "server.http_body_timeout_s": cfg.server.http_body_timeout_s,
        "server.http_body_min_bytes_per_s": cfg.server.http_body_min_bytes_per_s,
        "server.http_keepalive_timeout_s": cfg.server.http_keepalive_timeout_s,
        "storage.batch_max": cfg.storage.batch_max,
        "storage.queue_max": cfg.storage.queue_max,
        "storage.reader_threads": cfg.storage.reader_threads,
        "storage.write_probe_s": cfg.storage.write_probe_s,
        "limits.send_rate_per_s": cfg.limits.send_rate_per_s,
        "limits.send_burst": cfg.limits.send_burst,
        "limits.max_text_chars": cfg.limits.max_text_chars,
        "limits.max_content_bytes": cfg.limits.max_content_bytes,
        "limits.max_control_bytes": cfg.limits.max_control_bytes,
        "limits.user_write_rate_per_s": cfg.limits.user_write_rate_per_s,
        "limits.user_write_burst": cfg.limits.user_write_burst,
        "limits.frames_per_s": cfg.limits.frames_per_s,
        "limits.frames_burst": cfg.limits.frames_burst,
        "limits.max_edits_per_message": cfg.limits.max_edits_per_message,
        "limits.max_edit_history_bytes": cfg.limits.max_edit_history_bytes,
        "auth.token_ttl_days": cfg.auth.token_ttl_days,
        "auth.address_failures": cfg.auth.address_failures,
        "auth.account_failures": cfg.auth.account_failures,
        "auth.backoff_base_ms": cfg.auth.backoff_base_ms,
        "auth.backoff_max_ms": cfg.auth.backoff_max_ms,
        "auth.forget_failures_s": cfg.auth.forget_failures_s,
        "auth.throttle_max_keys": cfg.auth.throttle_max_keys,
        "auth.hash_slots": cfg.auth.hash_slots,
        "auth.queue_per_address": cfg.auth.queue_per_address,
        "auth.hash_memory_kib": cfg.auth.hash_memory_kib,
        "auth.hash_time_cost": cfg.auth.hash_time_cost,
        "auth.hash_parallelism": cfg.auth.hash_parallelism,
        "groups.max_members": cfg.groups.max_members,
        "social.friend_request_ttl_s": cfg.social.friend_request_ttl_s,
        "social.friend_requests_per_hour": cfg.social.friend_requests_per_hour,
        "calls.ring_timeout_s": cfg.calls.ring_timeout_s,
        "calls.reconnect_grace_s": cfg.calls.reconnect_grace_s,
        "calls.max_sdp_bytes": cfg.calls.max_sdp_bytes,
        "calls.max_candidates": cfg.calls.max_candidates,
        "calls.max_buffered_signals": cfg.calls.max_buffered_signals,
        "calls.mesh_max_participants": cfg.calls.mesh_max_participants,
        "calls.turn_ttl_s": cfg.calls.turn_ttl_s,
        "bots.stream_idle_timeout_s": cfg.bots.stream_idle_timeout_s,
        "bots.stream_push_interval_ms": cfg.bots.stream_push_interval_ms,
        "bots.stream_flush_interval_ms": cfg.bots.stream_flush_interval_ms,
        **{f"push.{key}": getattr(cfg.push, key) for key in _PUSH_POSITIVE},
    }
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{key}: must be greater than 0, got {value}")
    if cfg.server.heartbeat_timeout_s <= cfg.server.heartbeat_interval_s:
        raise ConfigError("server.heartbeat_timeout_s: must be greater than server.heartbeat_interval_s")
    if cfg.server.max_connections_per_ip < 0:
        raise ConfigError("server.max_connections_per_ip: must be 0 (no cap) or more")
    for key in ("dir_mode", "file_mode"):
        try:
            mode = parse_mode(getattr(cfg.storage, key))
        except ValueError as exc:
            raise ConfigError(f"storage.{key}: {exc}") from None
        if mode & ~0o777:
            raise ConfigError(f"storage.{key}: only permission bits (0000 to 0777) are allowed, got {getattr(cfg.storage, key)!r}")
    if parse_mode(cfg.storage.dir_mode) & 0o700 != 0o700:
        raise ConfigError("storage.dir_mode: the owner needs read, write and search (07xx)")
    if parse_mode(cfg.storage.file_mode) & 0o600 != 0o600:
        raise ConfigError("storage.file_mode: the owner needs read and write (06xx)")
    if cfg.auth.backoff_max_ms < cfg.auth.backoff_base_ms:
        raise ConfigError("auth.backoff_max_ms: must be at least auth.backoff_base_ms")
    _validate_hashing(cfg.auth)
    if cfg.calls.turn_urls and not cfg.calls.turn_secret_file:
        raise ConfigError("calls.turn_urls: TURN needs calls.turn_secret_file (the secret shared with the TURN server)")
    from .net.forwarded import parse_networks
    from .net.origin import normalize

    for proxy in cfg.server.trusted_proxies:
        try:
            parse_networks([proxy])
        except ValueError:
            raise ConfigError(f"server.trusted_proxies: {proxy!r} is not an IP address or network") from None

    for origin in cfg.server.allowed_origins:
        if origin != "*" and normalize(origin) is None:
            raise ConfigError(f"server.allowed_origins: {origin!r} is not an origin (write scheme://host[:port], or \"*\" for any)")
    if cfg.rooms.kick_ban_s < 0:
        raise ConfigError("rooms.kick_ban_s: must be 0 or more")
    if cfg.limits.user_storage_bytes < 0:
        raise ConfigError("limits.user_storage_bytes: must be 0 (no quota) or more")
    for key in ("max_file_bytes", "max_image_pixels", "thumb_px", "gc_interval_s"):
        if getattr(cfg.files, key) < 1:
            raise ConfigError(f"files.{key}: must be 1 or more")
    for key in ("user_quota_bytes", "gc_after_s", "upload_bytes_per_s"):
        if getattr(cfg.files, key) < 0:
            raise ConfigError(f"files.{key}: must be 0 or more")
    if cfg.push.idle_after_s < 0:
        raise ConfigError("push.idle_after_s: must be 0 (any connection counts) or more")
    if not _VAPID_SUBJECT.fullmatch(cfg.push.vapid_subject):
        raise ConfigError(
            "push.vapid_subject: must be mailto:NAME@DOMAIN or https://DOMAIN (RFC 8292: how a push service reaches the server's operator), "
            f"got {cfg.push.vapid_subject!r}"
        )
    if cfg.messages.recall_window_s < 0:
        raise ConfigError("messages.recall_window_s: must be 0 or more")
    for key in ("recall_batch_max", "forward_max_targets", "forward_max_messages"):
        if getattr(cfg.messages, key) < 1:
            raise ConfigError(f"messages.{key}: must be 1 or more")
    return cfg


# argon2's own bounds: lanes below 2^24, memory below 2^32 KiB and at least 8 KiB per lane.
MAX_HASH_PARALLELISM = 2**24 - 1
MAX_HASH_MEMORY_KIB = 2**32 - 1
MAX_HASH_TIME_COST = 2**32 - 1


def _validate_hashing(auth: AuthConfig) -> None:
    if auth.hash_parallelism > MAX_HASH_PARALLELISM:
        raise ConfigError(f"auth.hash_parallelism: must be at most {MAX_HASH_PARALLELISM}, got {auth.hash_parallelism}")
    if auth.hash_memory_kib > MAX_HASH_MEMORY_KIB:
        raise ConfigError(f"auth.hash_memory_kib: must be below 4 TiB ({MAX_HASH_MEMORY_KIB} KiB), got {auth.hash_memory_kib}")
    if auth.hash_time_cost > MAX_HASH_TIME_COST:
        raise ConfigError(f"auth.hash_time_cost: must be at most {MAX_HASH_TIME_COST}, got {auth.hash_time_cost}")
    if auth.hash_memory_kib < 8 * auth.hash_parallelism:
        raise ConfigError(
            f"auth.hash_memory_kib: argon2 needs at least 8 KiB per lane (8 * auth.hash_parallelism = {8 * auth.hash_parallelism}), got {auth.hash_memory_kib}"
        )


def _error_key(err: msgspec.ValidationError) -> str:
    """Turn msgspec's "... - at `$.server`" into a readable key path."""
    text = str(err)
    msg, _, where = text.partition(" - at `$")
    path = where.rstrip("`").lstrip(".")
    if msg.startswith("Object contains unknown field `"):
        field = msg.split("`")[1]
        key = f"{path}.{field}" if path else field
        return f"{key}: unknown key"
    return f"{path or '(top level)'}: {msg}"


def _env_overrides(environ: dict[str, str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, raw in environ.items():
        if not name.startswith("CHATD_") or name in ("CHATD_CONFIG",):
            continue
        rest = name[len("CHATD_"):].lower()
        section, _, key = rest.partition("_")
        if section not in SECTIONS or not key:
            raise ConfigError(f"{name}: unknown setting (expected CHATD_<SECTION>_<KEY>, e.g. CHATD_SERVER_LISTEN)")
        struct = SECTIONS[section]
        if key not in struct.__struct_fields__:
            raise ConfigError(f"{name}: unknown key {section}.{key}")
        if isinstance(getattr(struct(), key), list):
            out.setdefault(section, {})[key] = _env_list(name, raw)
            continue
        out.setdefault(section, {})[key] = raw
    return out


def _env_list(name: str, raw: str) -> list[Any]:
    """A list from the environment: a JSON array, or comma-separated values."""
    text = raw.strip()
    if text.startswith("["):
        try:
            value = msgspec.json.decode(text)
        except msgspec.DecodeError:
            raise ConfigError(f"{name}: expected a JSON array or comma-separated values") from None
        return value if isinstance(value, list) else [value]
    return [part.strip() for part in text.split(",") if part.strip()]


def load(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: dict[str, str] | None = None,
    flags: dict[str, dict[str, Any]] | None = None,
) -> Config:
    """Load the configuration: defaults < file < CHATD_* environment < flags."""
    environ = dict(os.environ) if environ is None else environ
    if path is None and environ.get("CHATD_CONFIG"):
        path = environ["CHATD_CONFIG"]
    merged: dict[str, dict[str, Any]] = {}
    if path is not None:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        try:
            data = msgspec.toml.decode(raw)
        except msgspec.DecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a table at the top level")
        try:
            msgspec.convert(data, Config)  # report file errors against the file
        except msgspec.ValidationError as exc:
            raise ConfigError(f"{path}: {_error_key(exc)}") from None
        for section, values in data.items():
            merged.setdefault(section, {}).update(values)
    env = _env_overrides(environ)
    for layer in (env, flags or {}):
        for section, values in layer.items():
            merged.setdefault(section, {}).update(values)
    try:
        cfg = msgspec.convert(merged, Config, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_error_key(exc)) from None
    return _validate(cfg)
