"""SQLite statements as chatd.store writes them, in PostgreSQL's words (for psycopg 3).

`postgres(sql)` translates one statement (cached): what the store functions pass to
`conn.execute` on SQLite, a PostgreSQL connection wrapper passes through here first, with its
arguments through `arguments(sql, args)`. What has no mechanical translation raises
`Untranslatable`, naming why.

The translation, token by token (chatd.store.sql_tokens; string literals and quoted names are
left alone but for `%`):
- `?` → `%s`; `?N` (numbered) → `%(N)s`, its arguments given as a mapping by `arguments`;
  a literal `%` → `%%` (psycopg reads `%` as a placeholder whenever arguments are passed, and
  `arguments` always passes them, an empty tuple at least);
- `INSERT OR IGNORE` → `INSERT … ON CONFLICT DO NOTHING`; `INSERT OR REPLACE` / `REPLACE` →
  `INSERT … ON CONFLICT (key) DO UPDATE` over the table's only unique key (a table with several
  is untranslatable: SQLite replaces the rows conflicting on any of them), the columns not given
  set to their defaults as SQLite's delete-and-insert does;
- `SUM(x)` → CAST(SUM(x) AS BIGINT): an integer, as on SQLite (PostgreSQL's is numeric);
- scalar `MAX(a, b, …)` → GREATEST, `MIN(a, b, …)` → LEAST (PostgreSQL's ignore NULLs where
  SQLite's return NULL: chatd passes none); IFNULL → COALESCE; instr(a, b) → strpos(a, b);
- `x LIKE p` → `x ILIKE p COLLATE "C"`: SQLite's LIKE folds ASCII case only, as ILIKE does
  under the "C" collation (which also lets it read columns of the case-insensitive `nocase`
  collation, chatd.store.pg_schema, where PostgreSQL 15 refuses LIKE);
- `json_each(x) [alias]` over a JSON list of integers (chatd's mentions) → a LATERAL subquery
  of jsonb_array_elements_text with the same `value` column, as BIGINT;
- an ORDER BY term naming a column that may hold NULL → NULLS FIRST (ascending) or NULLS LAST
  (descending), where SQLite puts NULL;
- `a IS b`, `a IS NOT b` (b not NULL) → IS [NOT] DISTINCT FROM;
- in ON CONFLICT … DO UPDATE, a bare column (the existing row's on SQLite) → table.column;
- a subquery in FROM or JOIN without an alias → one (PostgreSQL 15 requires it);
- 1 or 0 standing as a condition → TRUE, FALSE; an EXISTS standing as a value → its 0 or 1;
- `x COLLATE NOCASE` in ORDER BY → lower(x COLLATE "C") (SQLite's ASCII folding and order);
- printf('%s', …) → format(…); char(n) → chr(n);
- `CAST(x AS INTEGER)` → BIGINT; `==` → `=`; `BEGIN IMMEDIATE|DEFERRED|EXCLUSIVE` → `BEGIN`.

`returning_id(sql)`: the statement with `RETURNING <id>` appended when it is an INSERT into a
table whose id PostgreSQL makes (an identity column) and the caller may read cursor.lastrowid
(psycopg's lastrowid is always None): the wrapper reads the id from the returned row (none when
an INSERT OR IGNORE inserted nothing, where SQLite leaves lastrowid as it was; chatd reads
lastrowid only after plain INSERTs).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .sql_tokens import Untranslatable, closing, next_token, operand_end, operand_start, previous, tokens_of, top_level, top_level_commas, word

__all__ = ["Untranslatable", "arguments", "postgres", "returning_id"]

# What SQLite has and PostgreSQL lacks, or has with another meaning: the reason for each.
_SQLITE_ONLY = {
    "PRAGMA": "PRAGMA is SQLite's own",
    "ROWID": "rowid is SQLite's implicit key",
    "_ROWID_": "rowid is SQLite's implicit key",
    "MATCH": "MATCH is an FTS5 query: search on PostgreSQL is the search module's",
    "GLOB": "GLOB has no PostgreSQL operator of the same meaning",
    "REGEXP": "REGEXP calls an application function",
    "SQLITE_MASTER": "sqlite_master is SQLite's catalogue",
    "SQLITE_SCHEMA": "sqlite_schema is SQLite's catalogue",
    "CHANGES": "changes() is SQLite's; use the cursor's rowcount",
    "TOTAL_CHANGES": "total_changes() is SQLite's; use the cursor's rowcount",
    "LAST_INSERT_ROWID": "last_insert_rowid() is SQLite's; use returning_id",
    "TYPEOF": "typeof() reports SQLite's storage classes",
    "GROUP_CONCAT": "group_concat() (write string_agg with an explicit separator)",
    "STRFTIME": "strftime() is SQLite's date formatting",
    "IIF": "iif() (write CASE)",
    "VACUUM": "VACUUM INTO / VACUUM is maintenance of the SQLite file",
    "ATTACH": "ATTACH opens another SQLite file",
}
_APPLICATION_FUNCTIONS = re.compile(r"^CHATD_\w+$")  # registered with create_function (chatd.store.schema)
_CLAUSES = {"WHERE", "ON", "LEFT", "RIGHT", "INNER", "CROSS", "JOIN", "NATURAL", "ORDER", "GROUP", "LIMIT", "HAVING", "UNION", "EXCEPT", "INTERSECT", "WINDOW", "RETURNING", "USING", "OFFSET", "THEN", "END"}


def _check_sqlite_only(tokens: list[str]) -> None:
    for i, t in enumerate(tokens):
        w = word(t)
        if w in _SQLITE_ONLY:
            after = next_token(tokens, i + 1)
            if "()" in _SQLITE_ONLY[w] and (after >= len(tokens) or tokens[after] != "("):
                continue  # a column of that name, not the function
            raise Untranslatable(_SQLITE_ONLY[w])
        if _APPLICATION_FUNCTIONS.match(w):
            raise Untranslatable(f"{t}() is an application function registered on the SQLite connection")


def _placeholders(tokens: list[str]) -> bool:
    """Rewrites ? and % in place; whether the placeholders are numbered."""
    plain = numbered = False
    for i, t in enumerate(tokens):
        if t == "?":
            tokens[i], plain = "%s", True
        elif t.startswith("?"):
            tokens[i], numbered = f"%({int(t[1:])})s", True
        elif "%" in t:
            tokens[i] = t.replace("%", "%%")
    if plain and numbered:
        raise Untranslatable("mixes ? and ?N placeholders")
    return numbered


def _functions(tokens: list[str]) -> None:
    for i, t in enumerate(tokens):
        w = word(t)
        if w not in {"MAX", "MIN", "IFNULL", "INSTR", "CAST", "PRINTF", "CHAR", "SUM"}:
            continue
        paren = next_token(tokens, i + 1)
        if paren >= len(tokens) or tokens[paren] != "(":
            continue
        end = closing(tokens, paren)
        if w in {"MAX", "MIN"} and top_level_commas(tokens, paren + 1, end):
            tokens[i] = "GREATEST" if w == "MAX" else "LEAST"
        elif w == "SUM":
            tokens[i] = "CAST(SUM"
            tokens[end] = ") AS BIGINT)"
        elif w == "IFNULL":
            tokens[i] = "COALESCE"
        elif w == "INSTR":
            tokens[i] = "strpos"
        elif w == "CHAR":
            if top_level_commas(tokens, paren + 1, end):
                raise Untranslatable("char() of several code points")
            tokens[i] = "chr"
        elif w == "PRINTF":
            directives = set(re.findall(r"%.", "".join(tokens[paren + 1 : end])))
            if directives - {"%s", "%%"}:
                raise Untranslatable(f"printf() with {sorted(directives - {'%s', '%%'})}: PostgreSQL's format() has %s, %I, %L")
            tokens[i] = "format"
        elif w == "CAST":
            for j in range(paren, end):
                if word(tokens[j]) == "INTEGER":
                    tokens[j] = "BIGINT"


def _like(tokens: list[str]) -> None:
    i = 0
    while i < len(tokens):
        if word(tokens[i]) == "LIKE":
            tokens[i] = "ILIKE"
            end = operand_end(tokens, i + 1)
            tokens.insert(end, ' COLLATE "C"')
            i = end
        i += 1


def _json_each(tokens: list[str]) -> None:
    i = 0
    while i < len(tokens):
        if word(tokens[i]) == "JSON_EACH":
            paren = next_token(tokens, i + 1)
            end = closing(tokens, paren)
            if top_level_commas(tokens, paren + 1, end):
                raise Untranslatable("json_each() with a path")
            inner = "".join(tokens[paren + 1 : end])
            alias_at = next_token(tokens, end + 1)
            alias = "json_each"
            if alias_at < len(tokens) and word(tokens[alias_at]) == "AS":
                alias_at = next_token(tokens, alias_at + 1)
            if alias_at < len(tokens) and word(tokens[alias_at]) and word(tokens[alias_at]) not in _CLAUSES | {"AND", "OR", "ELSE", "WHEN"}:
                alias, end = tokens[alias_at], alias_at
            tokens[i : end + 1] = [f"LATERAL (SELECT jsonb_array_elements_text(({inner})::jsonb)::bigint AS value) AS {alias}"]
        i += 1


def _insert_or(tokens: list[str]) -> None:
    first = next_token(tokens, 0)
    if first >= len(tokens):
        return
    head = word(tokens[first])
    if head == "REPLACE":
        tokens[first : first + 1] = ["INSERT"]
        _upsert(tokens, first, "REPLACE")
    elif head == "INSERT":
        after = next_token(tokens, first + 1)
        if after < len(tokens) and word(tokens[after]) == "OR":
            mode_at = next_token(tokens, after + 1)
            mode = word(tokens[mode_at])
            del tokens[first + 1 : mode_at + 1]
            if mode in {"IGNORE", "REPLACE"}:
                _upsert(tokens, first, mode)
            else:
                raise Untranslatable(f"INSERT OR {mode}: PostgreSQL has no such conflict resolution")


def _upsert(tokens: list[str], first: int, mode: str) -> None:
    if top_level(tokens, "CONFLICT") is not None:
        raise Untranslatable(f"INSERT OR {mode} with its own ON CONFLICT clause")
    where = top_level(tokens, "RETURNING")
    at = len(tokens) if where is None else where
    while at > 0 and (tokens[at - 1].isspace() or tokens[at - 1] == ";"):
        at -= 1
    if mode == "IGNORE":
        clause = " ON CONFLICT DO NOTHING"
    else:
        clause = " " + _replace_clause(tokens, first)
    tokens.insert(at, clause)


def _replace_clause(tokens: list[str], first: int) -> str:
    from .pg_schema import derive

    into = top_level(tokens, "INTO", first)
    if into is None:
        raise Untranslatable("INSERT OR REPLACE without INTO")
    name_at = next_token(tokens, into + 1)
    table = tokens[name_at].strip('"')
    schema = derive()
    keys = schema.keys.get(table)
    if not keys:
        raise Untranslatable(f"INSERT OR REPLACE into {table}: no table of that name in the schema")
    if len(keys) != 1:
        raise Untranslatable(f"INSERT OR REPLACE into {table}: SQLite replaces the rows conflicting on any of its {len(keys)} unique keys; ON CONFLICT takes one")
    paren = next_token(tokens, name_at + 1)
    if tokens[paren] != "(":
        raise Untranslatable(f"INSERT OR REPLACE into {table} without a column list")
    given = [t.strip('"') for t in tokens[paren + 1 : closing(tokens, paren)] if word(t)]
    key = keys[0]
    sets = [f"{c} = excluded.{c}" if c in given else f"{c} = DEFAULT" for c in schema.columns[table] if c not in key]
    if not sets:
        return f"ON CONFLICT ({', '.join(key)}) DO NOTHING"
    return f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(sets)}"


def _nocase(tokens: list[str]) -> None:
    """`x COLLATE NOCASE` as an ORDER BY term → lower(x COLLATE "C"): ASCII case folded, then
    sorted by code point, as SQLite's NOCASE does. Elsewhere (a comparison) it stays: the
    schema's `nocase` collation, case-insensitive on both sides."""
    i = 0
    while i < len(tokens):
        if word(tokens[i]) == "COLLATE":
            name_at = next_token(tokens, i + 1)
            if name_at < len(tokens) and word(tokens[name_at]) == "NOCASE" and _ordering(tokens, i):
                start = operand_start(tokens, i)
                operand = "".join(tokens[start:i]).strip()
                tokens[start : name_at + 1] = [f'lower({operand} COLLATE "C")']
                i = start
        i += 1


def _ordering(tokens: list[str], i: int) -> bool:
    """Whether tokens[i] is in an ORDER BY list."""
    depth = 0
    for j in range(i - 1, -1, -1):
        depth += (tokens[j] == ")") - (tokens[j] == "(")
        if depth < 0:
            return False
        if depth == 0 and word(tokens[j]) == "BY":
            return word(previous(tokens, j)) == "ORDER"
        if depth == 0 and word(tokens[j]) in {"SELECT", "WHERE", "ON", "HAVING", "SET", "WHEN"}:
            return False
    return False


def _is(tokens: list[str]) -> None:
    """`a IS b` / `a IS NOT b` with b not NULL (nor TRUE, FALSE) → IS [NOT] DISTINCT FROM."""
    for i, t in enumerate(tokens):
        if word(t) != "IS":
            continue
        j = next_token(tokens, i + 1)
        negated = j < len(tokens) and word(tokens[j]) == "NOT"
        k = next_token(tokens, j + 1) if negated else j
        if k < len(tokens) and word(tokens[k]) not in {"NULL", "TRUE", "FALSE", "DISTINCT", "UNKNOWN"}:
            tokens[i : k] = ["IS DISTINCT FROM " if negated else "IS NOT DISTINCT FROM "]


def _subquery_aliases(tokens: list[str]) -> None:
    """A subquery in FROM or JOIN without an alias (SQLite allows it; PostgreSQL 15 does not) gets one."""
    made = 0
    i = 0
    while i < len(tokens):
        if word(tokens[i]) in {"FROM", "JOIN"}:
            paren = next_token(tokens, i + 1)
            if paren < len(tokens) and tokens[paren] == "(" and word(tokens[next_token(tokens, paren + 1)]) in {"SELECT", "VALUES"}:
                end = closing(tokens, paren)
                after = next_token(tokens, end + 1)
                if after >= len(tokens) or not word(tokens[after]) or word(tokens[after]) in _CLAUSES:
                    made += 1
                    tokens.insert(end + 1, f" AS chatd_sub{made}")
        i += 1


def _booleans(tokens: list[str]) -> None:
    """SQLite's 1 and 0 where a condition stands → TRUE, FALSE; an EXISTS standing as a value
    (in a select list, THEN, ELSE) → its 0 or 1 as on SQLite."""
    for i, t in enumerate(tokens):
        if t in {"1", "0"}:
            before = previous(tokens, i)
            after = next_token(tokens, i + 1)
            if word(before) in {"WHERE", "AND", "OR", "ON", "HAVING"} and (after >= len(tokens) or tokens[after] == ")" or word(tokens[after]) in _CLAUSES | {"AND", "OR"}):
                tokens[i] = "TRUE" if t == "1" else "FALSE"
    i = 0
    while i < len(tokens):
        if word(tokens[i]) == "EXISTS" and (word(previous(tokens, i)) in {"SELECT", "THEN", "ELSE"} or previous(tokens, i) == ","):
            paren = next_token(tokens, i + 1)
            end = closing(tokens, paren)
            tokens[i : end + 1] = ["CAST(", *tokens[i : end + 1], " AS INTEGER)"]
        i += 1


def _conflict_update(tokens: list[str]) -> None:
    """In ON CONFLICT … DO UPDATE, a bare column name means the target table's row on SQLite and
    is ambiguous (beside excluded's) on PostgreSQL: qualify it with the table."""
    do = top_level(tokens, "DO")
    if do is None or word(tokens[next_token(tokens, do + 1)]) != "UPDATE":
        return
    into = top_level(tokens, "INTO")
    if into is None:
        return
    table = tokens[next_token(tokens, into + 1)].strip('"')
    from .pg_schema import derive

    columns = set(derive().columns.get(table, ()))
    end = top_level(tokens, "RETURNING", do)
    depth = 0  # an assignment's target (after SET or a comma, at depth 0) stays bare
    for i in range(next_token(tokens, do + 1) + 1, len(tokens) if end is None else end):
        t = tokens[i]
        depth += (t == "(") - (t == ")")
        after = next_token(tokens, i + 1)
        if t not in columns or previous(tokens, i) == "." or after < len(tokens) and tokens[after] in {".", "("}:
            continue
        if not (depth == 0 and after < len(tokens) and tokens[after] == "=" and (word(previous(tokens, i)) == "SET" or previous(tokens, i) == ",")):
            tokens[i] = f"{table}.{t}"


_ORDER_TERM = re.compile(r"^(?:\w+\.)?(\w+)(?:\s+(ASC|DESC))?$", re.I)


def _order_nulls(tokens: list[str]) -> None:
    """SQLite sorts NULL first (ascending), PostgreSQL last: an ORDER BY term naming a column
    that may hold NULL says where SQLite puts them."""
    from .pg_schema import derive

    nullable = derive().nullable
    i = 0
    while i < len(tokens):
        if word(tokens[i]) == "ORDER" and word(tokens[next_token(tokens, i + 1)]) == "BY":
            j = start = next_token(tokens, i + 1) + 1
            depth = 0
            while j <= len(tokens):
                t = tokens[j] if j < len(tokens) else ")"
                depth += (t == "(") - (t == ")")
                if depth < 0 or depth == 0 and (t == "," or word(t) in {"LIMIT", "OFFSET", "UNION", "EXCEPT", "INTERSECT", "RETURNING"}):
                    term = _ORDER_TERM.match("".join(tokens[start:j]).strip())
                    if term and term.group(1) in nullable:
                        end = j
                        while tokens[end - 1].isspace():
                            end -= 1
                        tokens.insert(end, " NULLS LAST" if (term.group(2) or "").upper() == "DESC" else " NULLS FIRST")
                        j += 1
                    if t != ",":
                        break
                    start = j + 1
                j += 1
        i += 1


def _words(tokens: list[str]) -> None:
    for i, t in enumerate(tokens):
        if t == "==":
            tokens[i] = "="
        elif word(t) == "BEGIN":
            after = next_token(tokens, i + 1)
            if after < len(tokens) and word(tokens[after]) in {"IMMEDIATE", "DEFERRED", "EXCLUSIVE"}:
                tokens[i + 1 : after + 1] = []


@functools.lru_cache(maxsize=2048)
def _translate(sql: str) -> tuple[str, bool]:
    tokens = tokens_of(sql)
    _check_sqlite_only(tokens)
    _insert_or(tokens)
    _conflict_update(tokens)
    _functions(tokens)
    _json_each(tokens)
    _like(tokens)
    _nocase(tokens)
    _is(tokens)
    _subquery_aliases(tokens)
    _booleans(tokens)
    _order_nulls(tokens)
    _words(tokens)
    numbered = _placeholders(tokens)
    return "".join(tokens).strip(), numbered


def postgres(sql: str) -> str:
    """One statement of chatd.store in PostgreSQL's (psycopg's) terms."""
    return _translate(sql)[0]


def arguments(sql: str, args: Sequence[Any] | Mapping[str, Any] | None) -> Sequence[Any] | Mapping[str, Any]:
    """The arguments to pass psycopg with `postgres(sql)`: never None (so that `%%` always
    reads as one `%`), booleans as the 0 and 1 SQLite stores (PostgreSQL refuses a boolean for
    a BIGINT column), and a mapping by number for ?N placeholders."""
    if args is None:
        return ()
    if isinstance(args, Mapping):
        return {k: int(v) if v.__class__ is bool else v for k, v in args.items()}
    values = [int(v) if v.__class__ is bool else v for v in args]
    if _translate(sql)[1]:
        return {str(n): v for n, v in enumerate(values, 1)}
    return values


@functools.lru_cache(maxsize=512)
def returning_id(sql: str) -> str | None:
    """The translation of an INSERT with `RETURNING <id>` appended, when it inserts into a table
    whose id PostgreSQL makes and does not already return something; otherwise None."""
    from .pg_schema import derive

    tokens = tokens_of(sql)
    first = next_token(tokens, 0)
    if first >= len(tokens) or word(tokens[first]) not in {"INSERT", "REPLACE"} or top_level(tokens, "RETURNING") is not None:
        return None
    into = top_level(tokens, "INTO", first)
    if into is None:
        return None
    table = tokens[next_token(tokens, into + 1)].strip('"')
    column = derive().identity.get(table)
    if column is None:
        return None
    return f"{postgres(sql).rstrip(';').rstrip()} RETURNING {column}"
