"""The message corpus for H, S and T: a database of N direct messages, built once and cached.

The messages are stored by chatd's own store functions, exactly as
`chat_dm_send` stores them: each text is validated and encoded by the handler's
`new_message` (content JSON from chatd.protocol.content.dumps), conversations are
created by the DM store, and every message goes through
`chatd.store.messages.insert` (conversation seq and last activity, the message
row with an id from chatd.store.db.IdGen, the sender's read pointer), and each
batch gets its FTS5 entries from chatd.store.search.op_index_pending, as the
writer does shortly after a commit. Only the transport is skipped: rows are
committed in batches of 512, like the server's group commit, but without
fsync, and with synthetic timestamps spread over the past year.

The text is a mix of English, Chinese and both, drawn from word lists with a
skewed (Zipf-like) frequency, so some words are very common (the worst case
for a newest-first search filtered by membership) and others rare.

Layout (for N = 1,000,000; smaller N scales every count down):
- 2,000 users bench1..bench2000 (password PASSWORD), bench{k} has id k;
- bench1-bench2: one deep conversation with 5 % of all messages;
- bench1 and 400 peers (bench3..bench402): 15 % of the messages (bench1 is the "busy" user);
- 20,000 conversations between random pairs of the others: the remaining 80 %,
  with a long-tailed size distribution.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import time
from bisect import bisect
from itertools import accumulate
from pathlib import Path
from typing import Any

CORPUS_VERSION = 1
PASSWORD = "bench-password-1"
CACHE_DIR = Path(__file__).resolve().parent / "cache"

EN_WORDS = (
    "the a to and of is in it you that for on we this be with are have not will can at do but so if "
    "just my your our they was it's i'm from about get all there now what when how up out one more "
    "time today tomorrow meeting team project release build deploy server client database search index "
    "message chat group room call video audio file image upload download update fix bug issue test tests "
    "review merge branch commit change changes version report plan week month morning afternoon evening "
    "lunch coffee office remote home travel weekend holiday budget customer design draft document docs "
    "slides notes agenda schedule deadline launch feature request backend frontend mobile android ios web "
    "api endpoint latency throughput memory cpu disk network config password login token session cache "
    "queue worker thread process job task ticket sprint standup retro demo invoice contract sales support "
    "please thanks sorry yes no maybe sure okay great good nice cool done ready late early soon later "
    "check send share call join leave start stop open close move copy paste write read run ship "
    "question answer idea problem solution reason result price order payment account user admin manager "
    "weather rain snow sunny train flight hotel ticket dinner birthday party movie music game book"
).split()

ZH_WORDS = (
    "的 了 是 我 你 他 我们 你们 他们 在 有 和 就 不 也 吗 吧 呢 啊 这 那 一下 今天 明天 昨天 上午 下午 晚上 "
    "开会 会议 项目 进度 需求 设计 测试 上线 发布 部署 服务器 数据库 搜索 消息 群聊 文件 图片 视频 语音 通话 "
    "问题 解决 方案 报告 周报 月报 计划 安排 时间 地点 客户 合同 订单 付款 发票 价格 预算 销售 市场 产品 "
    "用户 账号 密码 登录 权限 管理 审批 请假 出差 加班 休息 周末 假期 吃饭 午饭 咖啡 办公室 回家 路上 "
    "辛苦 谢谢 好的 收到 没问题 明白 可以 不行 马上 稍等 已经 还没 准备 完成 开始 结束 确认 检查 修改 "
    "更新 版本 代码 提交 合并 评审 文档 表格 演示 培训 面试 招聘 团队 部门 老板 同事 朋友 天气 下雨 "
    "晴天 电影 音乐 游戏 生日 聚餐 火车 飞机 酒店 机票"
).split()

# The queries S runs: English words, one-character and two-character Chinese, common and rare.
QUERIES: dict[str, list[str]] = {
    "en": ["meeting", "deploy", "database", "invoice", "birthday", "release notes", "the"],
    "zh1": ["会", "的", "票", "雨"],
    "zh2": ["开会", "项目", "发票", "下雨"],
}


def _zipf_cum(n: int, s: float = 1.0) -> list[float]:
    return list(accumulate(1.0 / (rank + 1) ** s for rank in range(n)))


class TextGen:
    """Mixed English / Chinese chat lines with a skewed word frequency."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        en = EN_WORDS[:]
        zh = ZH_WORDS[:]
        rng.shuffle(en)
        rng.shuffle(zh)
        # Keep the function words common.
        self.en = sorted(en, key=lambda w: EN_WORDS.index(w) if EN_WORDS.index(w) < 30 else 30 + rng.random())
        self.zh = sorted(zh, key=lambda w: ZH_WORDS.index(w) if ZH_WORDS.index(w) < 20 else 20 + rng.random())
        self.en_cum = _zipf_cum(len(self.en))
        self.zh_cum = _zipf_cum(len(self.zh))

    def _pick(self, words: list[str], cum: list[float]) -> str:
        return words[bisect(cum, self.rng.random() * cum[-1])]

    def line(self) -> str:
        r = self.rng.random()
        n = self.rng.randint(3, 14)
        if r < 0.45:
            words = [self._pick(self.en, self.en_cum) for _ in range(n)]
            text = " ".join(words)
            return text[0].upper() + text[1:] + self.rng.choice((".", "!", "?", "", ""))
        if r < 0.85:
            return "".join(self._pick(self.zh, self.zh_cum) for _ in range(n)) + self.rng.choice(("。", "！", "？", "", "~"))
        parts = []
        for _ in range(n):
            if self.rng.random() < 0.3:
                parts.append(" " + self._pick(self.en, self.en_cum) + " ")
            else:
                parts.append(self._pick(self.zh, self.zh_cum))
        return "".join(parts).strip()


def _layout(n_messages: int) -> dict[str, int]:
    scale = n_messages / 1_000_000
    return {
        "messages": n_messages,
        "users": max(50, int(2000 * scale ** 0.5)),
        "hub_peers": max(10, int(400 * scale ** 0.5)),
        "pairs": max(50, int(20000 * scale ** 0.7)),
    }


def _schema_key() -> str:
    from chatd.store import schema

    steps = [m if isinstance(m, str) else m.__name__ for m in schema.MIGRATIONS]
    return hashlib.sha256("\n".join(steps).encode()).hexdigest()[:10]


def cache_path(n_messages: int, cache_dir: Path = CACHE_DIR) -> Path:
    return cache_dir / f"corpus-{n_messages}-v{CORPUS_VERSION}-{_schema_key()}.sqlite3"


def meta_path(db: Path) -> Path:
    return db.with_suffix(".json")


def ensure(n_messages: int, cache_dir: Path = CACHE_DIR, log: Any = print) -> tuple[Path, dict[str, Any]]:
    """The cached corpus of n_messages, built if missing. Returns (path, metadata)."""
    path = cache_path(n_messages, cache_dir)
    if path.exists() and meta_path(path).exists():
        return path, json.loads(meta_path(path).read_text())
    cache_dir.mkdir(parents=True, exist_ok=True)
    log(f"building a {n_messages:,}-message corpus in {path} (once; later runs reuse it)")
    meta = build(path, n_messages, log=log)
    meta_path(path).write_text(json.dumps(meta, indent=1))
    # A corpus of the same size for an older schema or corpus version is stale now.
    for old in cache_dir.glob(f"corpus-{n_messages}-v*"):
        if old.name.split(".")[0] != path.name.split(".")[0]:
            old.unlink(missing_ok=True)
    return path, meta


def build(path: Path, n_messages: int, *, seed: int = 4, log: Any = print) -> dict[str, Any]:
    from chatd.auth import hash_password
    from chatd.config import LimitsConfig
    from chatd.core.validate import new_message
    from chatd.protocol.content import Text
    from chatd.store import dm as dm_store
    from chatd.store import messages as msg_store
    from chatd.store import schema, search
    from chatd.store import users as users_store
    from chatd.store.db import IdGen, connect, now_ms
    from chatd.store.writer import WriteCtx

    started = time.monotonic()
    tmp = path.with_name(path.name + ".building")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    lay = _layout(n_messages)
    rng = random.Random(seed)
    gen = TextGen(rng)
    limits = LimitsConfig()

    conn = connect(tmp)
    schema.migrate(conn)
    conn.execute("PRAGMA synchronous = OFF")  # a bulk build: the rows are the same, only not fsynced
    conn.execute("PRAGMA cache_size = -262144")
    pw_hash = hash_password(PASSWORD)
    conn.execute("BEGIN")
    for k in range(1, lay["users"] + 1):
        uid = users_store.create_user(conn, f"bench{k}", pw_hash)
        assert uid == k, "bench{k} must have id k"
    conn.execute("COMMIT")

    # Conversations and their share of the messages.
    n_users = lay["users"]
    pairs: list[tuple[int, int]] = [(1, 2)]
    weights: list[float] = [0.05]
    hub_peers = list(range(3, 3 + lay["hub_peers"]))
    hub_w = [1.0 / (i + 1) ** 0.8 for i in range(len(hub_peers))]
    hub_total = sum(hub_w)
    for p, w in zip(hub_peers, hub_w):
        pairs.append((1, p))
        weights.append(0.15 * w / hub_total)
    seen = set(pairs)
    others = list(range(3, n_users + 1))
    other_pairs: list[tuple[int, int]] = []
    while len(other_pairs) < lay["pairs"]:
        a, b = rng.sample(others, 2)
        key = (min(a, b), max(a, b))
        if key not in seen:
            seen.add(key)
            other_pairs.append(key)
    other_w = [rng.paretovariate(1.2) for _ in other_pairs]
    other_total = sum(other_w)
    pairs += other_pairs
    weights += [0.80 * w / other_total for w in other_w]
    cum = list(accumulate(weights))

    ctx = WriteCtx(conn, IdGen(0))
    end_ms = now_ms() - 3_600_000
    start_ms = end_ms - 365 * 86_400_000
    step = (end_ms - start_ms) / n_messages
    conv_ids: dict[tuple[int, int], int] = {}
    batch = 512
    last_log = time.monotonic()
    for i in range(n_messages):
        if i % batch == 0:
            if i:
                search.op_index_pending(ctx, batch)  # as the writer does, a little after the store
                conn.execute("COMMIT")
            conn.execute("BEGIN")
            if time.monotonic() - last_log > 10:
                last_log = time.monotonic()
                rate = i / (last_log - started)
                log(f"  {i:,} messages ({rate:,.0f}/s, {(n_messages - i) / rate:,.0f} s left)")
        pair = pairs[bisect(cum, rng.random() * cum[-1])] if i else pairs[0]
        ctx.now = int(start_ms + i * step)
        conv_id = conv_ids.get(pair)
        if conv_id is None:
            conv_id = conv_ids[pair] = dm_store.create_conv(ctx, pair[0], pair[1])
        sender = pair[rng.random() < 0.5]
        msg = new_message(limits, sender, Text(text=gen.line()), client_msg_id=f"b{i:x}-{rng.getrandbits(32):08x}")
        msg_store.insert(ctx, conv_id, msg)
    search.op_index_pending(ctx, batch)
    conn.execute("COMMIT")
    conn.execute("PRAGMA optimize")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    deep = conn.execute("SELECT id, last_seq FROM conversations WHERE dm_key = '1:2'").fetchone()
    busy_convs = conn.execute("SELECT COUNT(*) FROM members WHERE user_id = 1").fetchone()[0]
    busy_msgs = conn.execute(
        "SELECT COALESCE(SUM(c.last_seq), 0) FROM conversations c JOIN members m ON m.conv_id = c.id AND m.user_id = 1"
    ).fetchone()[0]
    # A typical user: the median member by message count among the non-hub users.
    typical = conn.execute(
        "SELECT m.user_id, COUNT(*), SUM(c.last_seq) FROM members m JOIN conversations c ON c.id = m.conv_id "
        "WHERE m.user_id > ? GROUP BY m.user_id ORDER BY SUM(c.last_seq)",
        (2 + lay["hub_peers"],),
    ).fetchall()
    mid = typical[len(typical) // 2]
    conn.close()
    os.replace(tmp, path)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    meta = {
        "corpus_version": CORPUS_VERSION,
        "messages": n_messages,
        "users": n_users,
        "conversations": len(conv_ids),
        "password": PASSWORD,
        "deep": {"user": 1, "peer": 2, "conv_id": deep[0], "messages": deep[1]},
        "busy_user": {"user": 1, "conversations": busy_convs, "messages": busy_msgs},
        "typical_user": {"user": mid[0], "conversations": mid[1], "messages": mid[2]},
        "build_seconds": round(time.monotonic() - started, 1),
        "bytes": path.stat().st_size,
    }
    log(f"  built in {meta['build_seconds']} s, {meta['bytes'] / 1e6:.0f} MB")
    return meta


def corpus_count(db: Path, query: str) -> int:
    """How many messages in the whole corpus match a query (chatd's own query builder)."""
    from chatd.store import search

    match = search.build_query(query)
    if match is None:
        return 0
    conn = sqlite3.connect(f"file:{db}?immutable=1", uri=True)  # never writes -wal/-shm beside the cached file
    try:
        return conn.execute("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH ?", (match,)).fetchone()[0]
    finally:
        conn.close()
