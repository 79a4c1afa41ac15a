"""CJK search on PostgreSQL beside chatd's SQLite FTS5 search (python -m bench.pg_probe --only search).

The corpus: N chat lines from bench.corpus.TextGen (English, Chinese and both, skewed word
frequencies), seed fixed, so every run has the same text; message i is in conversation
1 + i % 500.

SQLite, the reference: chatd's own schema (chatd.store.schema.migrate) and index function
(chatd.store.search.index: the text through `segment`, every CJK character a token of its own),
and the MATCH chatd builds (search.build_query, on the text column as search_ids does).

PostgreSQL, three candidates, each in a table of its own beside a plain one (the insert cost of
an index is the difference):
- tsv: a column `to_tsvector('simple', segment(text))` (segment run in Python, as a node would)
  with a GIN index; the query built the way build_query builds the MATCH: every chunk of the
  query a phrase of its tokens (`开 <-> 会`), a trailing Latin token of 4 or more letters a
  prefix (`meeting:*`), the chunks ANDed, through `to_tsquery('simple', ...)`;
- norm: the same, but the text (and the query) first as `words` makes it: segment(), Latin
  diacritics removed and nothing but words left, which is what FTS5's unicode61 tokenizer
  (remove_diacritics 2) indexes; PostgreSQL's parser otherwise keeps an e-mail address, a URL
  or a hyphenated word whole as well (hand-made EDGE lines show where the two differ);
- trgm: pg_trgm (GIN, gin_trgm_ops) on the raw text; a CJK word matched as a substring
  (`text ILIKE '%开会%'`), a Latin word as a word (`text ~* '\\mword\\M'`, or a prefix,
  `'\\mmeet'`, as FTS5 takes it), ANDed.

Only the text part of chatd's search is compared (no membership filter, no recalled or hidden
messages): all the matches of each query (recall against SQLite's set, and the matches SQLite
does not give), and the newest 20 (ORDER BY id DESC LIMIT 20: chatd's first page), p50/p95 per
kind of query. Also: whether SQL alone can segment (a regexp_replace over chatd's CJK ranges
giving the same tsvector, which would let a generated column keep the index), index sizes, and
the insert cost per message (also of the words() index with GIN's fastupdate off).
"""

from __future__ import annotations

import json
import random
import re
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

from .stats import percentile

CONVS = 500
ENGINES = ("tsv", "norm", "trgm")
LABELS = {"sqlite": "SQLite FTS5 (chatd)", "tsv": "PG tsv: segment()", "norm": "PG tsv: words()", "trgm": "PG pg_trgm", "tsv_bitmap": "PG tsv: segment(), MATERIALIZED"}
BATCH = 512
QUERIES: dict[str, list[str]] = {
    "en": ["meeting", "deploy", "database", "invoice", "birthday", "release notes", "the", "meet"],
    "zh1": ["会", "的", "票", "雨"],
    "zh2": ["开会", "项目", "发票", "下雨"],
    "zh3+": ["服务器", "没问题", "数据库 上线"],
    "mixed": ["deploy 服务器", "meeting 开会", "test 测试"],
    # In no message: the first page's plan has nothing to stop at early.
    "absent": ["zebra", "雪", "下雪"],
    # Against the hand-made EDGE lines: where PostgreSQL's text parser and FTS5's unicode61 differ.
    "edge": ["cafe", "resume", "example", "guide", "script", "开会"],
}
# Appended to the generated corpus: an address, a URL, diacritics, a hyphenated word, CJK across punctuation.
EDGE = [
    "mail the invoice to ops@example.com please",
    "docs at https://docs.example.com/deploy/guide",
    "Café au lait downstairs",
    "send your résumé by Friday",
    "the deploy-script failed again",
    "明天开，会议室见",
]


def corpus(n: int, seed: int = 21) -> list[tuple[int, int, str]]:
    from .corpus import TextGen

    gen = TextGen(random.Random(seed))
    lines = [gen.line() for _ in range(n)] + EDGE
    return [(i + 1, 1 + i % CONVS, text) for i, text in enumerate(lines)]


# -- SQLite (chatd's own index)


def build_sqlite(rows: list[tuple[int, int, str]], path: Path) -> tuple[Any, float, int]:
    from chatd.store import schema, search
    from chatd.store.db import connect

    conn = connect(path)
    schema.migrate(conn)
    t0 = time.perf_counter()
    for k in range(0, len(rows), BATCH):
        conn.execute("BEGIN")
        for msg_id, conv_id, text in rows[k : k + BATCH]:
            search.index(conn, msg_id, conv_id, text)
        conn.execute("COMMIT")
    took = time.perf_counter() - t0
    size = conn.execute("SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'messages_fts%'").fetchone()[0]
    return conn, took, size


def sqlite_query(conn: Any, query: str, newest: bool) -> list[int]:
    from chatd.store import search

    match = search.build_query(query)
    sql = "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?" + (" ORDER BY rowid DESC LIMIT 20" if newest else "")
    return [r[0] for r in conn.execute(sql, (f"text : ({match})",))]


# -- PostgreSQL

TABLES = {
    "plain": "CREATE TABLE m_plain (id bigint PRIMARY KEY, conv_id bigint NOT NULL, text text NOT NULL)",
    "tsv": "CREATE TABLE m_tsv (id bigint PRIMARY KEY, conv_id bigint NOT NULL, text text NOT NULL, tsv tsvector NOT NULL);"
    " CREATE INDEX m_tsv_gin ON m_tsv USING gin (tsv)",
    "trgm": "CREATE TABLE m_trgm (id bigint PRIMARY KEY, conv_id bigint NOT NULL, text text NOT NULL);"
    " CREATE INDEX m_trgm_gin ON m_trgm USING gin (text gin_trgm_ops)",
    "norm": "CREATE TABLE m_norm (id bigint PRIMARY KEY, conv_id bigint NOT NULL, text text NOT NULL, tsv tsvector NOT NULL);"
    " CREATE INDEX m_norm_gin ON m_norm USING gin (tsv)",
    # The same without GIN's pending list: every insert updates the index itself (load cost only).
    "norm_direct": "CREATE TABLE m_norm_direct (id bigint PRIMARY KEY, conv_id bigint NOT NULL, text text NOT NULL, tsv tsvector NOT NULL);"
    " CREATE INDEX m_norm_direct_gin ON m_norm_direct USING gin (tsv) WITH (fastupdate = off)",
}
INSERTS = {
    "plain": "INSERT INTO m_plain (id, conv_id, text) VALUES (%s, %s, %s)",
    "tsv": "INSERT INTO m_tsv (id, conv_id, text, tsv) VALUES (%s, %s, %s, to_tsvector('simple', %s))",
    "trgm": "INSERT INTO m_trgm (id, conv_id, text) VALUES (%s, %s, %s)",
    "norm": "INSERT INTO m_norm (id, conv_id, text, tsv) VALUES (%s, %s, %s, to_tsvector('simple', %s))",
    "norm_direct": "INSERT INTO m_norm_direct (id, conv_id, text, tsv) VALUES (%s, %s, %s, to_tsvector('simple', %s))",
}


def _strip_latin_diacritics(text: str) -> str:
    """é -> e as unicode61's remove_diacritics does for Latin letters (other scripts untouched)."""
    out: list[str] = []
    for c in unicodedata.normalize("NFD", text):
        if unicodedata.combining(c) and out and ord(out[-1]) < 0x250:
            continue
        out.append(c)
    return unicodedata.normalize("NFC", "".join(out))


def words(text: str) -> str:
    """The text as FTS5 sees it, for PostgreSQL's parser: chatd's segment(), Latin diacritics
    removed, and only the words (letters and digits) left, separated by spaces, so that the
    parser finds no address, URL or hyphenated word to keep whole."""
    from chatd.store.search import segment

    return " ".join(_TOKEN.findall(segment(_strip_latin_diacritics(text))))


_TOKEN = re.compile(r"[^\W_]+")


def load_pg(conn: Any, rows: list[tuple[int, int, str]]) -> dict[str, dict[str, float]]:
    """Create and fill the three tables in transactions of BATCH rows; seconds per table."""
    from chatd.store.search import segment

    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    out = {}
    for name, ddl in TABLES.items():
        conn.execute(ddl)
        prep = {"tsv": segment, "norm": words, "norm_direct": words}.get(name)
        args = [(i, c, t, prep(t)) if prep else (i, c, t) for i, c, t in rows]
        batches = []
        t0 = time.perf_counter()
        for k in range(0, len(args), BATCH):
            b0 = time.perf_counter()
            with conn.transaction():
                conn.cursor().executemany(INSERTS[name], args[k : k + BATCH])
            batches.append(time.perf_counter() - b0)
        took = time.perf_counter() - t0
        t1 = time.perf_counter()
        conn.execute(f"VACUUM ANALYZE m_{name}")  # GIN's pending list goes into the index here at the latest
        batches.sort()
        out[name] = {"load_s": took, "vacuum_s": time.perf_counter() - t1, "batch_p50_s": percentile(batches, 50), "batch_max_s": batches[-1]}
    return out


def sql_segmentation_differs(conn: Any) -> int:
    """Rows whose tsvector differs when SQL does the segmenting (regexp_replace over the same ranges)."""
    from chatd.store.search import _CJK

    return conn.execute(
        "SELECT count(*) FROM m_tsv WHERE tsv <> to_tsvector('simple', regexp_replace(text, %s, ' \\1 ', 'g'))", (f"([{_CJK}])",)
    ).fetchone()[0]


def tsquery(query: str, norm: bool = False) -> str | None:
    """build_query's expression as a tsquery: a phrase per chunk, a trailing Latin token of
    PREFIX_MIN or more letters a prefix, the chunks ANDed (norm: the tokens as `words` makes them)."""
    from chatd.store.search import _HAS_CJK, _WORD, PREFIX_MIN, segment

    parts = []
    for chunk in query.split():
        if norm:
            tokens = words(chunk).split()
        else:
            tokens = [t for word in _WORD.findall(chunk) for t in segment(word).split()]
        if not tokens:
            continue
        lexemes = ["'" + t.lower().replace("'", "''").replace("\\", "\\\\") + "'" for t in tokens]
        if not _HAS_CJK.search(tokens[-1]) and len(tokens[-1]) >= PREFIX_MIN:
            lexemes[-1] += ":*"
        parts.append("(" + " <-> ".join(lexemes) + ")")
    return " & ".join(parts) if parts else None


def trgm_where(query: str) -> tuple[str, list[str]]:
    from chatd.store.search import _HAS_CJK, _WORD, PREFIX_MIN

    conds, params = [], []
    for chunk in query.split():
        for word in _WORD.findall(chunk):
            if _HAS_CJK.search(word):
                conds.append("text ILIKE %s")
                params.append("%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
            else:
                conds.append("text ~* %s")
                params.append("\\m" + re.escape(word) + ("" if len(word) >= PREFIX_MIN else "\\M"))
    return " AND ".join(conds) or "false", params


def pg_sql(engine: str, query: str, newest: bool) -> tuple[str, list[Any]]:
    tail = " ORDER BY id DESC LIMIT 20" if newest else ""
    if engine == "tsv_bitmap":  # every match through the index first, then the newest 20 of them
        sql = "WITH hits AS MATERIALIZED (SELECT id FROM m_tsv WHERE tsv @@ to_tsquery('simple', %s)) SELECT id FROM hits"
        return sql + tail, [tsquery(query)]
    if engine in ("tsv", "norm"):
        return f"SELECT id FROM m_{engine} WHERE tsv @@ to_tsquery('simple', %s)" + tail, [tsquery(query, engine == "norm")]
    where, params = trgm_where(query)
    return f"SELECT id FROM m_trgm WHERE {where}" + tail, params


def plan(conn: Any, sql: str, params: list[Any]) -> str:
    """The plan's scan nodes, e.g. "Bitmap Index Scan m_trgm_gin" or "Seq Scan"."""
    (doc,) = conn.execute("EXPLAIN (FORMAT JSON) " + sql, params).fetchone()
    doc = json.loads(doc) if isinstance(doc, str) else doc
    nodes: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if node["Node Type"] in ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Index Scan", "Index Scan Backward"):
            backward = " (backward)" if node.get("Scan Direction") == "Backward" else ""
            nodes.append(node["Node Type"] + (f" {node['Index Name']}" if "Index Name" in node else "") + backward)
        for child in node.get("Plans", []):
            walk(child)

    walk(doc[0]["Plan"])
    return ", ".join(nodes)


def _timed(fn: Any, passes: int) -> tuple[list[int], list[float]]:
    result = fn()  # warm-up
    lat = []
    for _ in range(passes):
        t0 = time.perf_counter()
        fn()
        lat.append(time.perf_counter() - t0)
    return result, lat


def _ms(vals: list[float], p: float) -> float | None:
    v = percentile(sorted(vals), p)
    return None if v is None else round(v * 1000, 3)


def run(dsn: str, *, messages: int, passes: int) -> dict[str, Any]:
    import psycopg

    from .pg_probe import load

    before_build = load()
    rows = corpus(messages)
    with tempfile.TemporaryDirectory(prefix="chatd-probe-search-") as tmp, psycopg.connect(dsn, autocommit=True) as pg:
        lite, lite_s, lite_size = build_sqlite(rows, Path(tmp) / "chatd.db")
        loads = load_pg(pg, rows)
        differs = sql_segmentation_differs(pg)
        names = ["m_plain"] + [f"m_{e}{gin}" for e in (*ENGINES, "norm_direct") for gin in ("", "_gin")]
        sizes = {name: pg.execute("SELECT pg_relation_size(%s)", (name,)).fetchone()[0] for name in names}
        before_queries = load()
        recall_rows: list[dict[str, Any]] = []
        lat: dict[tuple[str, str, bool], list[float]] = {}
        for kind, queries in QUERIES.items():
            for q in queries:
                row: dict[str, Any] = {"kind": kind, "query": q}
                for newest in (False, True):
                    got, ms = _timed(lambda: sqlite_query(lite, q, newest), passes)
                    lat.setdefault(("sqlite", kind, newest), []).extend(ms)
                    if not newest:
                        ref = set(got)
                        row["sqlite hits"] = len(ref)
                    for engine in ENGINES:
                        sql, params = pg_sql(engine, q, newest)
                        got, ms = _timed(lambda: [r[0] for r in pg.execute(sql, params)], passes)
                        lat.setdefault((engine, kind, newest), []).extend(ms)
                        if not newest:
                            found = set(got)
                            row[f"{engine} recall"] = round(len(found & ref) / len(ref), 4) if ref else None
                            row[f"{engine} extra"] = len(found - ref)
                            row[f"{engine} plan"] = plan(pg, sql, params)
                    if newest:
                        row["tsv newest-20 plan"] = plan(pg, *pg_sql("tsv", q, True))
                        sql, params = pg_sql("tsv_bitmap", q, True)
                        _, ms = _timed(lambda: [r[0] for r in pg.execute(sql, params)], passes)
                        lat.setdefault(("tsv_bitmap", kind, True), []).extend(ms)
                recall_rows.append(row)
        lite.close()
    lat_rows = []
    for kind in QUERIES:
        for engine in ("sqlite", *ENGINES, "tsv_bitmap"):
            lat_rows.append(
                {
                    "kind": kind,
                    "engine": LABELS[engine],
                    "newest20 p50 ms": _ms(lat[(engine, kind, True)], 50),
                    "newest20 p95 ms": _ms(lat[(engine, kind, True)], 95),
                    "all p50 ms": _ms(lat.get((engine, kind, False), []), 50),
                    "all p95 ms": _ms(lat.get((engine, kind, False), []), 95),
                }
            )
    n = len(rows)
    plain = loads["plain"]["load_s"] + loads["plain"]["vacuum_s"]
    cost_rows = [
        {"engine": "SQLite FTS5 (chatd's search.index, transactions of 512)", "index MB": round(lite_size / 1e6, 1), "index µs/msg": round(lite_s / n * 1e6, 1)},
    ]
    for name, label in (("plain", "PG table without search index"), *((e, LABELS[e]) for e in ENGINES), ("norm_direct", "PG tsv: words(), fastupdate off")):
        cost_rows.append(
            {
                "engine": label,
                "table MB": round(sizes[f"m_{name}"] / 1e6, 1),
                "index MB": round(sizes[f"m_{name}_gin"] / 1e6, 1) if name != "plain" else None,
                "load µs/msg": round(loads[name]["load_s"] / n * 1e6, 1),
                "index µs/msg": round((loads[name]["load_s"] + loads[name]["vacuum_s"] - plain) / n * 1e6, 1) if name != "plain" else None,
                "vacuum s": round(loads[name]["vacuum_s"], 2),
                "tx p50 ms": round(loads[name]["batch_p50_s"] * 1000, 2),
                "tx max ms": round(loads[name]["batch_max_s"] * 1000, 1),
            }
        )
    return {
        "tables": [
            {"title": f"Search recall against chatd's SQLite FTS5 ({n:,} messages; all the matches of each query)", "columns": list(recall_rows[0]), "rows": recall_rows},
            {"title": f"Search latency per kind of query ({passes} passes after a warm-up; load {before_queries} before)", "columns": list(lat_rows[0]), "rows": lat_rows},
            {
                "title": f"Index size and insert cost ({n:,} messages, transactions of {BATCH}; load {before_build} before)",
                "columns": ["engine", "table MB", "index MB", "load µs/msg", "index µs/msg", "vacuum s", "tx p50 ms", "tx max ms"],
                "rows": cost_rows,
            },
        ],
        "notes": [
            "tsv newest-20 plan: the planner's choice for the first page (ORDER BY id DESC LIMIT 20); MATERIALIZED: the same query with every match found through the GIN index first (a MATERIALIZED CTE), then sorted.",
            "recall: the share of SQLite's matches the candidate finds; extra: its matches SQLite does not give.",
            "index µs/msg on PostgreSQL: the table's load + VACUUM ANALYZE time minus the plain table's, per message; tx: one transaction of 512 inserts (GIN's pending list is merged into the index inside whichever insert fills it: tx max).",
            f"SQL-side segmentation (regexp_replace over chatd's CJK ranges, then to_tsvector): {differs} rows of {n:,} differ from Python's segment().",
        ],
        "sql_segmentation_rows_differing": differs,
        "sizes_bytes": {**sizes, "sqlite_fts": lite_size},
        "loads": loads,
        "sqlite_index_s": lite_s,
    }
