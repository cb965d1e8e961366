"""PostgreSQL: a private cluster under the devnet folder (Debian's binaries), or an existing
server named by HYDROGEN_PG_DSN."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import psycopg

from hydrogen.db.migrate import migrate
from hydrogen.devnet.layout import HOST, Layout
from hydrogen.devnet.service import DevnetError, Health, Service

DB_NAME = "hydrogen"
DB_USER = "hydrogen"


def pg_bindir() -> Path:
    """The newest installed PostgreSQL's bin folder."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_major_version, reverse=True)
    if found:
        return Path(found[0]).parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return Path(pg_ctl).resolve().parent
    raise DevnetError("PostgreSQL is not installed (no pg_ctl); run scripts/bootstrap.sh")


def _major_version(path: str) -> int:
    try:
        return int(Path(path).parts[-3])
    except ValueError:
        return 0


class Postgres(Service):
    name = "postgres"

    def __init__(self, layout: Layout, port: int) -> None:
        super().__init__(layout)
        self.port = port
        self.dir = layout.data("postgres")
        self.data_dir = self.dir / "data"
        self.socket_dir = self.dir / "run"

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def dsn(self) -> str:
        return f"postgresql://{DB_USER}@{HOST}:{self.port}/{DB_NAME}"

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        # PostgreSQL refuses to run as root; there, its tools run as the `postgres` user.
        argv = [str(pg_bindir() / tool), *args]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, check=False)

    def _give_to_postgres_user(self, *paths: Path) -> None:
        if os.geteuid() != 0:
            return
        user = pwd.getpwnam("postgres")
        for path in paths:
            os.chown(path, user.pw_uid, user.pw_gid)

    def start(self) -> None:
        if self.is_running():
            return
        log = self.layout.log(self.name)
        for d in (self.dir, self.socket_dir, log.parent):
            d.mkdir(parents=True, exist_ok=True)
        log.touch()
        self._give_to_postgres_user(self.dir, self.socket_dir, log)
        if not (self.data_dir / "PG_VERSION").exists():
            proc = self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                DB_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
            if proc.returncode != 0:
                raise DevnetError(f"initdb failed:\n{proc.stdout}{proc.stderr}")
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses={HOST} "
            "-c max_connections=200 -c shared_buffers=128MB"
        )
        proc = self._run("pg_ctl", "start", "-D", str(self.data_dir), "-l", str(log), "-o", options)
        if proc.returncode != 0:
            raise DevnetError(f"pg_ctl start failed:\n{proc.stdout}{proc.stderr}; see {log}")

    def pid(self) -> int | None:
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return None
        return pid if Path(f"/proc/{pid}").exists() else None

    def stop(self) -> bool:
        if not self.is_running():
            return False
        proc = self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w")
        if proc.returncode != 0:
            raise DevnetError(f"pg_ctl stop failed:\n{proc.stdout}{proc.stderr}")
        return True

    def health(self) -> Health:
        return _check(f"postgresql://{DB_USER}@{HOST}:{self.port}/postgres")

    def prepare(self) -> None:
        with psycopg.connect(
            f"postgresql://{DB_USER}@{HOST}:{self.port}/postgres", autocommit=True
        ) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        migrate(self.dsn)


class ExternalPostgres(Service):
    """A server someone else runs (HYDROGEN_PG_DSN): we migrate it, never start or stop it."""

    name = "postgres"

    def __init__(self, layout: Layout, dsn: str) -> None:
        super().__init__(layout)
        self.dsn = dsn

    @property
    def address(self) -> str:
        info = psycopg.conninfo.conninfo_to_dict(self.dsn)
        return f"{info.get('host', 'localhost')}:{info.get('port', 5432)} (external)"

    def start(self) -> None:
        """Nothing to start: the server is not ours."""

    def stop(self) -> bool:
        return False

    def pid(self) -> int | None:
        return None

    def is_running(self) -> bool:
        return self.health().ok

    def health(self) -> Health:
        return _check(self.dsn)

    def prepare(self) -> None:
        migrate(self.dsn)


def _check(dsn: str) -> Health:
    try:
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            version = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as exc:
        return Health(False, f"not reachable: {str(exc).strip()}")
    return Health(True, f"PostgreSQL {version[0] if version else '?'}")
