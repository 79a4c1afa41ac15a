"""The checks of a configuration's values that their types alone cannot make (chatd.config.load
runs them on every load): ranges, addresses, modes, and settings that need one another.
Each problem is one line, `section.key: why`; all of them are reported, not the first."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from .config import AuthConfig, Config, ConfigError, parse_listen
from .store.db import MAX_NODES
from .store.files import parse_mode


# What py_vapid signs: a mail address whose domain has a dot (or is localhost), or an https origin.
_VAPID_SUBJECT = re.compile(r"mailto:[^@\s]+@(localhost|[\w-]+(\.[\w-]+)+)|https://(localhost|[\w-]+\.[\w.-]+)", re.IGNORECASE)
_PUSH_POSITIVE = (
    "connect_timeout_s", "request_timeout_s", "queue_size", "concurrency", "max_attempts", "retry_base_s", "retry_max_s",
    "breaker_failures", "breaker_open_s", "max_devices_per_user",
)


def problems_of(cfg: Config) -> list[str]:
    """Every value that cannot be used, each as `section.key: why` (all of them, not the first)."""
    problems: list[str] = []
    try:
        parse_listen(cfg.server.listen)
    except ConfigError as exc:
        problems.append(str(exc))
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
        "storage.cache_mb": cfg.storage.cache_mb,
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
            problems.append(f"{key}: must be greater than 0, got {value}")
    if cfg.server.heartbeat_timeout_s <= cfg.server.heartbeat_interval_s:
        problems.append("server.heartbeat_timeout_s: must be greater than server.heartbeat_interval_s")
    if cfg.server.max_connections_per_ip < 0:
        problems.append("server.max_connections_per_ip: must be 0 (no cap) or more")
    for key in ("dir_mode", "file_mode"):
        try:
            mode = parse_mode(getattr(cfg.storage, key))
        except ValueError as exc:
            problems.append(f"storage.{key}: {exc}")
            continue
        if mode & ~0o777:
            problems.append(f"storage.{key}: only permission bits (0000 to 0777) are allowed, got {getattr(cfg.storage, key)!r}")
        elif key == "dir_mode" and mode & 0o700 != 0o700:
            problems.append("storage.dir_mode: the owner needs read, write and search (07xx)")
        elif key == "file_mode" and mode & 0o600 != 0o600:
            problems.append("storage.file_mode: the owner needs read and write (06xx)")
    problems += _database_problems(cfg.storage.database)
    if not 0 <= cfg.storage.node < MAX_NODES:
        problems.append(f"storage.node: 0 to {MAX_NODES - 1}, each node sharing the database its own, got {cfg.storage.node}")
    if cfg.auth.backoff_max_ms < cfg.auth.backoff_base_ms:
        problems.append("auth.backoff_max_ms: must be at least auth.backoff_base_ms")
    try:
        _validate_hashing(cfg.auth)
    except ConfigError as exc:
        problems.append(str(exc))
    if cfg.calls.turn_urls and not cfg.calls.turn_secret_file:
        problems.append("calls.turn_urls: TURN needs calls.turn_secret_file (the secret shared with the TURN server)")
    from .net.forwarded import parse_networks
    from .net.origin import normalize

    if cfg.metrics.listen:
        try:
            parse_listen(cfg.metrics.listen)
        except ConfigError:
            problems.append(f"metrics.listen: expected HOST:PORT, or empty to serve /metrics on server.listen, got {cfg.metrics.listen!r}")
    for network in cfg.metrics.allow_from:
        try:
            parse_networks([network])
        except ValueError:
            problems.append(f"metrics.allow_from: {network!r} is not an IP address or network")

    for proxy in cfg.server.trusted_proxies:
        try:
            parse_networks([proxy])
        except ValueError:
            problems.append(f"server.trusted_proxies: {proxy!r} is not an IP address or network")

    for origin in cfg.server.allowed_origins:
        if origin != "*" and normalize(origin) is None:
            problems.append(f"server.allowed_origins: {origin!r} is not an origin (write scheme://host[:port], or \"*\" for any)")
    if cfg.rooms.kick_ban_s < 0:
        problems.append("rooms.kick_ban_s: must be 0 or more")
    if cfg.limits.user_storage_bytes < 0:
        problems.append("limits.user_storage_bytes: must be 0 (no quota) or more")
    for key in ("max_file_bytes", "max_image_pixels", "thumb_px", "gc_interval_s"):
        if getattr(cfg.files, key) < 1:
            problems.append(f"files.{key}: must be 1 or more")
    for key in ("user_quota_bytes", "gc_after_s", "upload_bytes_per_s"):
        if getattr(cfg.files, key) < 0:
            problems.append(f"files.{key}: must be 0 or more")
    if cfg.files.directory and not Path(cfg.files.directory).expanduser().is_absolute():
        problems.append(f"files.directory: an absolute path (or empty for the data directory's files/), got {cfg.files.directory!r}")
    try:
        _validate_directory(cfg)
    except ConfigError as exc:
        problems.append(str(exc))
    if cfg.push.idle_after_s < 0:
        problems.append("push.idle_after_s: must be 0 (any connection counts) or more")
    if not _VAPID_SUBJECT.fullmatch(cfg.push.vapid_subject):
        problems.append(
            "push.vapid_subject: must be mailto:NAME@DOMAIN or https://DOMAIN (RFC 8292: how a push service reaches the server's operator), "
            f"got {cfg.push.vapid_subject!r}"
        )
    if cfg.messages.recall_window_s < 0:
        problems.append("messages.recall_window_s: must be 0 or more")
    for key in ("recall_batch_max", "forward_max_targets", "forward_max_messages"):
        if getattr(cfg.messages, key) < 1:
            problems.append(f"messages.{key}: must be 1 or more")
    return problems


def _database_problems(url: str) -> list[str]:
    """storage.database: empty (SQLite), or a PostgreSQL URL without a password (a password goes
    where libpq looks for one, a .pgpass file or PGPASSFILE, not into a setting that is logged
    and shown)."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
        parts.port
    except ValueError:
        return [f"storage.database: not a URL: {url!r}"]
    if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
        return ["storage.database: a PostgreSQL URL, postgresql://USER@HOST:PORT/DATABASE (empty: SQLite in the data directory)"]
    if parts.password is not None:
        return ["storage.database: holds a password: put it in a .pgpass file (or PGPASSFILE) instead (docs/scaling.md)"]
    return []


def _validate_directory(cfg: Config) -> None:
    d = cfg.directory
    if d.ldap_url:
        if not d.ldap_url.startswith(("ldap://", "ldaps://")):
            raise ConfigError(f"directory.ldap_url: expected ldap://HOST[:PORT] or ldaps://HOST[:PORT], got {d.ldap_url!r}")
        if not d.ldap_base_dns:
            raise ConfigError("directory.ldap_base_dns: the LDAP sync needs at least one base DN to search")
        if not d.ldap_people_filter.startswith("(") or (d.ldap_disabled_filter and not d.ldap_disabled_filter.startswith("(")):
            raise ConfigError("directory.ldap_people_filter, directory.ldap_disabled_filter: an LDAP filter is in parentheses")
        for key in ("ldap_id_attribute", "attr_username"):
            if not getattr(d, key):
                raise ConfigError(f"directory.{key}: must be set")
    if d.ldap_timeout_s <= 0:
        raise ConfigError(f"directory.ldap_timeout_s: must be greater than 0, got {d.ldap_timeout_s}")
    if d.sync_interval_s < 0:
        raise ConfigError("directory.sync_interval_s: must be 0 (no periodic sync) or more")
    if cfg.auth.ldap and not d.ldap_url:
        raise ConfigError("auth.ldap: logging in through LDAP needs directory.ldap_url")


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
