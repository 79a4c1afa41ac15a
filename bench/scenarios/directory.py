"""D: the enterprise directory (issue 19): `enterprise_member_search` over 10,000 [500] members
with realistic Chinese and English names, and a full LDAP sync of 10,000 [200] entries from a
private slapd.

The members are written into the database before the server starts, with chatd's own store
functions (chatd.store.directory: the same rows and the same FTS5 index the commands write):
70 % Chinese names (common surnames, among them the heteronymous ones such as 曾, 单, 解, 区,
and one- or two-character given names), 30 % English ones, in 40 departments of a tree two deep.
One user then searches one request at a time, in turn, queries of each kind: Latin prefixes of
1, 2 and 3 letters, full pinyin, initials, Han characters, and English name prefixes.

The sync part starts the tests' slapd (tests/slapd.py: Debian's slapd, installed when missing;
skipped where it cannot be), loads the entries with slapadd, and times `chatd directory sync`
into an empty database, then once more with nothing to change.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .. import wire
from ..stats import ServerMeter, summary_ms
from .base import Context, Result, scenario
from .goals import Goal, at_least, count, samples

MEMBERS = 10_000
SEARCH_GOAL_MS = 5.0
SYNC_ENTRIES = 10_000
SYNC_GOAL_S = 60.0
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单区解仇查朴"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰玉萍红华建国文辉鹏飞宇婷雪琳晨欣怡浩然子涵梓轩佳颖思远志强海燕长乐行重"
FIRST = ("James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William", "Susan", "Richard", "Jessica",
         "Joseph", "Sarah", "Thomas", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra", "Paul", "Ashley")
LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Wilson",
        "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker")
TITLES = ("Engineer", "Senior Engineer", "Manager", "Designer", "Analyst", "工程师", "产品经理", "销售代表", "Director", "Accountant")
KINDS = ("prefix1", "prefix2", "prefix3", "pinyin", "initials", "han", "english")
GOAL_KINDS = ("prefix1", "prefix2", "prefix3", "pinyin", "initials")


def people(n: int, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for k in range(n):
        if rng.random() < 0.7:
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        else:
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        out.append({"username": f"p{k:05d}", "name": name, "title": rng.choice(TITLES), "email": f"p{k:05d}@example.com",
                    "phone": f"138{rng.randrange(10**8):08d}", "employee_no": f"E{k:05d}"})
    return out


def seed_directory(path: Any, members: list[dict[str, Any]], rng: random.Random) -> dict[str, Any]:
    from chatd.store import directory
    from chatd.store.db import IdGen, connect, now_ms
    from chatd.store.writer import WriteCtx

    conn = connect(path)
    try:
        ctx = WriteCtx(conn, IdGen(0))
        ctx.now = now_ms()
        conn.execute("BEGIN")
        tops = [directory.create_department(ctx, f"Division {d}", None) for d in range(8)]
        depts = [directory.create_department(ctx, f"Team {d}-{t}", top) for d, top in enumerate(tops) for t in range(4)]
        for m in members:
            uid, _ = directory.find_or_create_user(conn, m["username"], m["name"])
            fields = {f: m[f] for f in ("name", "title", "email", "phone", "employee_no")}
            directory.put_member(ctx, uid, fields, [rng.choice(depts)], None)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return {"members": len(members), "departments": len(tops) + len(depts)}


def queries(members: list[dict[str, Any]], rng: random.Random, per_kind: int) -> dict[str, list[str]]:
    from chatd import names

    chinese = [m["name"] for m in members if names.has_han(m["name"])]
    english = [m["name"] for m in members if not names.has_han(m["name"])]
    out: dict[str, list[str]] = {k: [] for k in KINDS}
    for _ in range(per_kind):
        han = rng.choice(chinese)
        reading = names.name_readings(han)[0]
        joined = "".join(reading)
        out["prefix1"].append(joined[:1])
        out["prefix2"].append(joined[:2])
        out["prefix3"].append(joined[:3])
        out["pinyin"].append(joined)
        out["initials"].append("".join(s[0] for s in reading))
        out["han"].append(han[: rng.choice((1, 2))])
        out["english"].append(rng.choice(english).lower()[: rng.choice((3, 5))])
    return out


def plan_d(ctx: Context) -> dict[str, Any]:
    return {"members": ctx.scale(MEMBERS, 500), "queries_per_kind": ctx.scale(500, 50), "limit": 20, "sync_entries": ctx.scale(SYNC_ENTRIES, 200)}


def _title(p: dict[str, Any]) -> str:
    return (
        f"directory: enterprise_member_search (limit {p['limit']}) over {count(p['members'], 'member')}, {count(p['queries_per_kind'], 'query', 'queries')} "
        f"of each kind one at a time; chatd directory sync of {count(p['sync_entries'], 'LDAP entry', 'LDAP entries')} from slapd"
    )


def _sync(p: dict[str, Any], workdir: Path, res: Result) -> None:
    """Time `chatd directory sync` of p['sync_entries'] entries from a private slapd."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    try:
        from tests.slapd import ADMIN_DN, ADMIN_PW, PEOPLE, Slapd
    except Exception as exc:  # noqa: BLE001 - the suite may run without the tests' helpers
        res.detail["sync_skipped"] = f"no slapd helper: {exc}"
        return
    import json
    import tempfile

    rng = random.Random(19)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp_dir:
        tmp = Path(tmp_dir)
        try:
            ldap = Slapd(tmp)
        except AssertionError as exc:
            res.detail["sync_skipped"] = str(exc)
            return
        ldap.start()
        try:
            entries = people(p["sync_entries"], rng)
            ous = [f"Team {t}" for t in range(20)]
            lines = []
            for ou in ous:
                lines += [f"dn: ou={ou},{PEOPLE}", "objectClass: organizationalUnit", f"ou: {ou}", ""]
            for m in entries:
                lines += [f"dn: uid={m['username']},ou={rng.choice(ous)},{PEOPLE}", "objectClass: inetOrgPerson", f"uid: {m['username']}",
                          f"cn: {m['name']}", f"sn: {m['name']}", f"title: {m['title']}", f"mail: {m['email']}",
                          f"telephoneNumber: {m['phone']}", f"employeeNumber: {m['employee_no']}", ""]
            ldif = tmp / "people.ldif"
            ldif.write_text("\n".join(lines))
            added = subprocess.run(["ldapadd", "-x", "-H", ldap.url, "-D", ADMIN_DN, "-w", ADMIN_PW, "-f", str(ldif)], capture_output=True, text=True)
            if added.returncode != 0:
                with ldap.admin() as conn:  # without ldap-utils: through ldap3
                    for m in entries:
                        ldap.ensure_ou(conn, [ou := rng.choice(ous)])
                        conn.add(f"uid={m['username']},ou={ou},{PEOPLE}", ["inetOrgPerson"], {"uid": m["username"], "cn": m["name"], "sn": m["name"]})
            secret = tmp / "pw"
            secret.write_text(ADMIN_PW)
            data = tmp / "data"
            config = tmp / "chatd.toml"
            settings = {"ldap_url": ldap.url, "ldap_bind_dn": ADMIN_DN, "ldap_bind_password_file": str(secret), "ldap_base_dns": [PEOPLE]}
            config.write_text(f"[server]\ndata_dir = {json.dumps(str(data))}\n[directory]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
            for label in ("sync_full_s", "sync_unchanged_s"):
                started = time.monotonic()
                done = subprocess.run([sys.executable, "-m", "chatd", "directory", "sync", "--config", str(config)], capture_output=True, text=True, timeout=600)
                elapsed = time.monotonic() - started
                if done.returncode != 0:
                    raise RuntimeError(f"chatd directory sync failed: {done.stderr[-2000:]}")
                res.fig(label, round(elapsed, 2), "s")
        finally:
            ldap.stop()


@scenario(
    "D",
    _title,
    "search p50/p95/p99 per query kind (1-3 letter prefixes, pinyin, initials, Han, English); server CPU per search; full LDAP sync seconds",
    plan=plan_d,
    goals=tuple(
        Goal(f"{kind}_p95_ms", "<=", SEARCH_GOAL_MS, f"p95 ≤ 5 ms ({kind}, 10,000 members)",
             needs=(at_least("members", MEMBERS, "{} members"), samples(f"{kind}_ms", 100, what="searches")))
        for kind in GOAL_KINDS
    ) + (Goal("sync_full_s", "<=", SYNC_GOAL_S, "a full sync of 10,000 entries ≤ 60 s", needs=(at_least("sync_entries", SYNC_ENTRIES, "{} entries"),)),),
    needs=("enterprise_member_search",),
    needs_note="needs the enterprise directory: enterprise_member_search is not implemented by this server",
)
def scenario_d(ctx: Context, res: Result) -> None:
    p = res.params
    rng = random.Random(19)
    members = people(p["members"], rng)
    seeded: dict[str, Any] = {}

    def seed(srv: Any) -> None:
        seeded.update(seed_directory(srv.data_dir / "chatd.sqlite3", members, rng))

    qs = queries(members, rng, p["queries_per_kind"])
    lat: dict[str, list[float]] = {k: [] for k in KINDS}
    hits: dict[str, int] = {k: 0 for k in KINDS}
    with ctx.server(1, seed=seed) as target:
        loop = wire.Loop()
        try:
            (conn,) = wire.open_many(loop, target.url, target.logins(["bench1"], device="directory"))
            for kind in KINDS:  # one unmeasured round
                wire.check_ok(wire.call(loop, conn, "enterprise_member_search", {"query": qs[kind][0], "limit": p["limit"]})[0])
            srv = ServerMeter(target)
            srv.start()
            for i in range(p["queries_per_kind"]):
                for kind in KINDS:
                    env, dt = wire.call(loop, conn, "enterprise_member_search", {"query": qs[kind][i], "limit": p["limit"]})
                    found = wire.check_ok(env)
                    lat[kind].append(dt)
                    hits[kind] += len(found["members"])
            srv.stop()
        finally:
            loop.close()
    total = 0
    for kind in KINDS:
        s = summary_ms(lat[kind])
        total += s["n"]
        res.detail[f"{kind}_ms"] = s
        for pct in ("p50", "p95", "p99"):
            res.fig(f"{kind}_{pct}_ms", s.get(pct), "ms")
        res.samples[kind] = [x * 1000 for x in lat[kind]]
    cpu = srv.cpu
    res.fig("server_cpu_ms_per_search", None if cpu is None or not total else round(cpu / total * 1000, 3), "ms")
    res.detail["hits_per_search"] = {k: round(hits[k] / max(1, len(lat[k])), 1) for k in KINDS}
    res.detail["seeded"] = seeded
    res.detail["examples"] = {k: qs[k][:5] for k in KINDS}
    res.server = srv.to_json()
    if ctx.url:
        res.detail["sync_skipped"] = "against a running server (--url)"
    else:
        _sync(p, Path(ctx.workdir or "/tmp"), res)
