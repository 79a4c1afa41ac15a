"""A private OpenLDAP server for the directory's tests: Debian's slapd (installed by
tests/debian.py when missing), a cn=config generated into a temporary directory, an mdb database
for dc=example,dc=com, listening on a free loopback port. No mocked LDAP.

    with Slapd(tmp_path) as ldap:
        ldap.add_person("zhangsan", "张三", ["Engineering", "Backend"], title="Engineer")
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import ldap3

from .debian import ensure

BASE = "dc=example,dc=com"
PEOPLE = f"ou=people,{BASE}"
ADMIN_DN = f"cn=admin,{BASE}"
ADMIN_PW = "admin secret"
START_TIMEOUT_S = 20

_CONFIG = """dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {dir}/slapd.pid

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcSizeLimit: unlimited

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {base}
olcRootDN: {admin}
olcRootPW: {password}
olcDbDirectory: {dir}/db
olcDbMaxSize: 1073741824
olcAccess: to attrs=userPassword by anonymous auth by self write by * none
olcAccess: to * by users read by * none
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Slapd:
    def __init__(self, tmp: Path):
        ensure("slapd", "/usr/sbin/slapd")
        self.dir = tmp / "slapd"
        self.port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None

    # -- the server ------------------------------------------------------------------------

    def start(self) -> Slapd:
        if not self.dir.exists():
            (self.dir / "config").mkdir(parents=True)
            (self.dir / "db").mkdir()
            ldif = self.dir / "config.ldif"
            ldif.write_text(_CONFIG.format(dir=self.dir, base=BASE, admin=ADMIN_DN, password=ADMIN_PW))
            done = subprocess.run(["slapadd", "-n0", "-F", str(self.dir / "config"), "-l", str(ldif)], capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            fresh = True
        else:
            fresh = False
        # -d 32768: stay in the foreground and say "slapd starting" once it listens.
        self.proc = subprocess.Popen(
            ["slapd", "-d", "32768", "-h", self.url + "/", "-F", str(self.dir / "config")], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
        )
        assert self.proc.stderr is not None
        seen = []
        for line in self.proc.stderr:
            seen.append(line)
            if "slapd starting" in line:
                break
        else:
            raise AssertionError("slapd did not start:\n" + "".join(seen))
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # keep the pipe drained
        self._wait_listening()
        if fresh:
            with self.admin() as conn:
                conn.add(BASE, ["dcObject", "organization"], {"o": "Example", "dc": "example"})
                conn.add(PEOPLE, ["organizationalUnit"], {"ou": "people"})
        return self

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "slapd does not accept connections"
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.proc = None

    def pause(self) -> None:
        """Stopped, not gone: connections are accepted by the kernel and never answered."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def __enter__(self) -> Slapd:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- entries ---------------------------------------------------------------------------

    def admin(self) -> ldap3.Connection:
        return ldap3.Connection(ldap3.Server(self.url, get_info=ldap3.NONE), ADMIN_DN, ADMIN_PW, auto_bind=True, raise_exceptions=True, receive_timeout=10)

    @staticmethod
    def ou_dn(path: list[str]) -> str:
        return ",".join([f"ou={name}" for name in reversed(path)] + [PEOPLE])

    def ensure_ou(self, conn: ldap3.Connection, path: list[str]) -> None:
        for i in range(1, len(path) + 1):
            dn = self.ou_dn(path[:i])
            if not self._exists(conn, dn):
                conn.add(dn, ["organizationalUnit"], {"ou": path[i - 1]})

    @staticmethod
    def _exists(conn: ldap3.Connection, dn: str) -> bool:
        try:
            return bool(conn.search(dn, "(objectClass=*)", ldap3.BASE))
        except ldap3.core.exceptions.LDAPNoSuchObjectResult:
            return False

    def person_dn(self, uid: str, path: list[str]) -> str:
        return f"uid={uid},{self.ou_dn(path)}"

    def add_person(self, uid: str, cn: str, path: list[str], *, password: str = "", **attrs: str) -> str:
        """Add a person under the OUs of `path` (made when missing); returns their entryUUID."""
        with self.admin() as conn:
            self.ensure_ou(conn, path)
            dn = self.person_dn(uid, path)
            values: dict[str, Any] = {"uid": uid, "cn": cn, "sn": cn, **attrs}
            if password:
                values["userPassword"] = password
            conn.add(dn, ["inetOrgPerson"], values)
            return self.entry_uuid(conn, dn)

    @staticmethod
    def entry_uuid(conn: ldap3.Connection, dn: str) -> str:
        conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["entryUUID"])
        return str(conn.entries[0].entryUUID.value)

    def modify(self, dn: str, **attrs: str) -> None:
        with self.admin() as conn:
            conn.modify(dn, {k: [(ldap3.MODIFY_REPLACE, [v] if v else [])] for k, v in attrs.items()})

    def move(self, uid: str, old: list[str], new: list[str], new_uid: str | None = None) -> str:
        """Rename and/or move an entry (the same entry: its entryUUID stays); the new DN."""
        with self.admin() as conn:
            self.ensure_ou(conn, new)
            rdn = f"uid={new_uid or uid}"
            conn.modify_dn(self.person_dn(uid, old), rdn, delete_old_dn=True, new_superior=self.ou_dn(new))
            return f"{rdn},{self.ou_dn(new)}"

    def delete(self, dn: str) -> None:
        with self.admin() as conn:
            conn.delete(dn)
