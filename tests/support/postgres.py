"""A throw-away PostgreSQL cluster for the tests: initdb + pg_ctl, on a free port.

PostgreSQL refuses to run as root, so as root the cluster belongs to an unprivileged
user (`postgres` if the Debian package created it, else `nobody`). It listens on
127.0.0.1 only and is removed when the test session ends.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import sqlalchemy as sa

from .network import free_port


def _bindir() -> str:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(os.path.realpath(initdb))
    raise RuntimeError("PostgreSQL server binaries not found: run `make system-deps` (installs Debian's postgresql)")


class PostgresCluster:
    def __init__(self):
        self.bindir = _bindir()
        self.port = free_port()
        self.root = tempfile.mkdtemp(prefix="haven-pg-")
        self.datadir = os.path.join(self.root, "data")
        self.user = None
        if os.geteuid() == 0:
            name = "postgres" if _user_exists("postgres") else "nobody"
            self.user = pwd.getpwnam(name)
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
            os.chmod(self.root, 0o700)

    def _run(self, *args: str) -> None:
        command = [os.path.join(self.bindir, args[0]), *args[1:]]
        if self.user is not None:
            uid, gid = self.user.pw_uid, self.user.pw_gid

            def demote():
                os.setgid(gid)
                os.setuid(uid)
        else:
            demote = None
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       preexec_fn=demote, cwd=self.root)

    def start(self) -> "PostgresCluster":
        self._run("initdb", "-D", self.datadir, "-U", "haven", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run("pg_ctl", "-D", self.datadir, "-o", options, "-w", "-t", "60", "-l",
                  os.path.join(self.root, "server.log"), "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://haven@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", self.datadir, "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def wait_until_stopped(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while os.path.exists(os.path.join(self.datadir, "postmaster.pid")) and time.monotonic() < deadline:
            time.sleep(0.1)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
