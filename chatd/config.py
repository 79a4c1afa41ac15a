"""Typed configuration: defaults, then the TOML file, then CHATD_* environment, then flags.

Every key is documented in config.example.toml; a test decodes that file against
these Structs, so the two cannot drift apart. Unknown keys are errors.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

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
    database: str = ""  # "" SQLite in the data directory; postgresql://USER@HOST:PORT/DATABASE (docs/scaling.md)
    node: int = 0  # with PostgreSQL: this node's number, 0 to 15, each node its own


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
    ldap: bool = False


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
    directory: str = ""  # where uploaded files are kept; "": <data_dir>/files (Config.files_path)


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
    handover_agents: list[str] = msgspec.field(default_factory=list)
    handover_bot_mode: Literal["off", "observe"] = "off"


class LogConfig(Base):
    format: Literal["text", "json"] = "text"
    level: Literal["debug", "info", "warning", "error"] = "info"


class MetricsConfig(Base):
    enabled: bool = False
    listen: str = ""  # "": served at /metrics on server.listen; else an address of its own
    allow_from: list[str] = msgspec.field(default_factory=lambda: ["127.0.0.1", "::1"])


class DirectoryConfig(Base):
    ldap_url: str = ""
    ldap_bind_dn: str = ""
    ldap_bind_password_file: str = ""
    ldap_base_dns: list[str] = msgspec.field(default_factory=list)
    ldap_people_filter: str = "(objectClass=inetOrgPerson)"
    ldap_disabled_filter: str = ""
    ldap_id_attribute: str = "entryUUID"
    ldap_timeout_s: int = 10
    sync_interval_s: int = 3600
    attr_username: str = "uid"
    attr_name: str = "cn"
    attr_title: str = "title"
    attr_email: str = "mail"
    attr_phone: str = "telephoneNumber"
    attr_employee_no: str = "employeeNumber"
    attr_manager: str = "manager"
    attr_department: str = ""


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
    log: LogConfig = msgspec.field(default_factory=LogConfig)
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    directory: DirectoryConfig = msgspec.field(default_factory=DirectoryConfig)
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
    def files_path(self) -> Path:
        """Where uploaded files are kept (chatd.media): files.directory, shared by the nodes of one
        database (docs/scaling.md), or the data directory's files/."""
        if self.files.directory:
            return Path(self.files.directory).expanduser()
        return self.data_path / "files"

    @property
    def dir_mode(self) -> int:
        return parse_mode(self.storage.dir_mode)

    @property
    def file_mode(self) -> int:
        return parse_mode(self.storage.file_mode)

    @property
    def listen_host_port(self) -> tuple[str, int]:
        return parse_listen(self.server.listen)


SECTIONS = {f: t for f, t in zip(Config.__struct_fields__, (ServerConfig, StorageConfig, LimitsConfig, MessagesConfig, AuthConfig, GroupsConfig, RoomsConfig, SocialConfig, FilesConfig, CallsConfig, BotsConfig, LogConfig, MetricsConfig, DirectoryConfig, PushConfig))}


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not (0 <= int(port) <= 65535):
        raise ConfigError(f"server.listen: expected HOST:PORT, got {value!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def _env_overrides(environ: dict[str, str], problems: list[str]) -> dict[str, dict[str, Any]]:
    """The CHATD_<SECTION>_<KEY> settings of environ; an unknown one is a problem."""
    out: dict[str, dict[str, Any]] = {}
    for name, raw in environ.items():
        if not name.startswith("CHATD_") or name in ("CHATD_CONFIG",):
            continue
        rest = name[len("CHATD_"):].lower()
        section, _, key = rest.partition("_")
        if section not in SECTIONS or not key:
            problems.append(f"{name}: unknown setting (expected CHATD_<SECTION>_<KEY>, e.g. CHATD_SERVER_LISTEN)")
            continue
        struct = SECTIONS[section]
        if key not in struct.__struct_fields__:
            problems.append(f"{name}: unknown key {section}.{key}")
            continue
        if isinstance(getattr(struct(), key), list):
            try:
                out.setdefault(section, {})[key] = _env_list(name, raw)
            except ConfigError as exc:
                problems.append(str(exc))
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


def _expected(struct: type, key: str, exc: msgspec.ValidationError) -> str:
    """Why a value does not fit its key: the allowed values of a choice, or msgspec's reason."""
    hint = get_type_hints(struct).get(key)
    if get_origin(hint) is Literal:
        return "expected one of " + ", ".join(f"{v!r}" for v in get_args(hint))
    reason = str(exc).partition(" - at `$")[0]
    reason = re.sub(r", got `\w+`$", "", reason)  # the value itself follows
    return reason[:1].lower() + reason[1:]


def _layer(data: dict[str, Any], where: Any, strict: bool, merged: dict[str, dict[str, Any]], origin: dict[str, str], problems: list[str]) -> None:
    """Check one source's settings key by key (every problem, not the first) and merge the good ones."""
    for section, values in data.items():
        struct = SECTIONS.get(section)
        if struct is None:
            problems.append(f"{section}: unknown {'section' if isinstance(values, dict) else 'key'} ({where(section, None)})")
            continue
        if not isinstance(values, dict):
            problems.append(f"{section}: expected a table [{section}], got {values!r} ({where(section, None)})")
            continue
        for key, value in values.items():
            if key not in struct.__struct_fields__:
                problems.append(f"{section}.{key}: unknown key ({where(section, key)})")
                continue
            try:
                msgspec.convert({key: value}, struct, strict=strict)
            except msgspec.ValidationError as exc:
                problems.append(f"{section}.{key}: {_expected(struct, key, exc)}, got {value!r} ({where(section, key)})")
                continue
            merged.setdefault(section, {})[key] = value
            origin[f"{section}.{key}"] = where(section, key)


def _sourced(problem: str, origin: dict[str, str]) -> str:
    """A problem of _problems with where its key was set (or that it is the default)."""
    key = problem.split(":", 1)[0]
    return f"{problem} ({origin.get(key, 'the default')})"


def load(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: dict[str, str] | None = None,
    flags: dict[str, dict[str, Any]] | None = None,
) -> Config:
    """Load the configuration: defaults < file < CHATD_* environment < flags.

    Raises ConfigError naming every bad setting at once, one per line, each with where it
    was set: the file's key, the CHATD_ variable, or the command-line flag."""
    environ = dict(os.environ) if environ is None else environ
    if path is None and environ.get("CHATD_CONFIG"):
        path = environ["CHATD_CONFIG"]
    merged: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}
    problems: list[str] = []
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
        _layer(data, lambda section, key: f"{path}", True, merged, origin, problems)
    env = _env_overrides(environ, problems)
    _layer(env, lambda section, key: f"CHATD_{section.upper()}_{(key or '').upper()}", False, merged, origin, problems)
    _layer(flags or {}, lambda section, key: "a command-line flag", False, merged, origin, problems)
    cfg = msgspec.convert(merged, Config, strict=False)  # the settings that fit their keys
    from .config_checks import problems_of

    problems += [_sourced(p, origin) for p in problems_of(cfg)]
    if problems:
        raise ConfigError("\n".join(problems))
    return cfg
