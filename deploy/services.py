"""PostgreSQL and Redis for the production stack, on this machine, from Debian's packages.

Both keep their files under ``$CREDIT_HOME/services`` and listen on loopback only, on
CREDIT_PG_PORT and CREDIT_REDIS_PORT:
- PostgreSQL refuses to run as root: when this process is root, every PostgreSQL program runs as the
  ``postgres`` user (``runuser -u postgres``), which owns the data folder. Local socket connections
  (the socket folder is private to that user) are trusted for administration; TCP connections need
  a password (scram-sha-256). Two databases, ``superset`` and ``mlflow``, each owned by a login role
  of the same name whose password is in the stack's env file (deploy/envfile.py).
- Redis runs daemonised from a config file (mode 0600: it holds ``requirepass``), without
  persistence: it holds caches and rate-limit counts, nothing that must survive a restart.
Each step is idempotent: ``up`` on running services checks them and returns.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class ServiceError(RuntimeError):
    """A service that cannot be installed, started or reached; the message says which and why."""


def _pg_bin() -> Path:
    root = Path("/usr/lib/postgresql")
    versions = sorted((p for p in root.glob("*/bin/postgres")), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise ServiceError(
            "PostgreSQL server not installed (/usr/lib/postgresql/*/bin/postgres): "
            "apt-get install postgresql (make prod-check installs it)"
        )
    return versions[-1].parent


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(cmd: list[str], what: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if proc.returncode != 0:
        raise ServiceError(
            f"{what} failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[-800:]}"
        )
    return proc


@dataclass(frozen=True)
class Postgres:
    root: Path  # $CREDIT_HOME/services/postgres
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def _check_reachable_by_postgres(self) -> None:
        if os.geteuid() != 0:
            return
        import pwd

        postgres_uid = pwd.getpwnam("postgres").pw_uid
        for parent in [self.root, *self.root.parents]:
            if (
                parent.exists()
                and not (parent.stat().st_mode & 0o001)
                and parent.stat().st_uid != postgres_uid
            ):
                raise ServiceError(
                    f"PostgreSQL runs as the postgres user, which cannot enter {parent} (mode "
                    f"{oct(parent.stat().st_mode & 0o777)}): put CREDIT_HOME under a folder others may traverse"
                )

    def running(self) -> bool:
        pid = self.data / "postmaster.pid"
        if not pid.exists():
            return False
        proc = subprocess.run(
            [*_as_postgres(), str(_pg_bin() / "pg_ctl"), "status", "-D", str(self.data)],
            capture_output=True,
            text=True,
        )
        return proc.returncode == 0

    def up(self, passwords: dict[str, str]) -> None:
        """initdb (once), start, and create the roles and databases named in `passwords`."""
        bin_dir = _pg_bin()
        self.root.mkdir(parents=True, exist_ok=True)
        self._check_reachable_by_postgres()
        self.socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
        self.socket_dir.chmod(0o700)
        if not (self.data / "PG_VERSION").exists():
            self.data.mkdir(exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(self.data, "postgres", "postgres")
            _run(
                [*_as_postgres(), str(bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
                 "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"],
                "initdb",
            )  # fmt: skip
        if not self.running():
            if os.geteuid() == 0 and not self.log.exists():
                self.log.touch()
                shutil.chown(self.log, "postgres", "postgres")
            options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
            _run(
                [*_as_postgres(), str(bin_dir / "pg_ctl"), "start", "-D", str(self.data), "-l", str(self.log),
                 "-w", "-t", "60", "-o", options],
                f"PostgreSQL start (log: {self.log})",
            )  # fmt: skip
        for role, password in passwords.items():
            self._ensure_database(role, password)

    def psql(self, sql: str, database: str = "postgres") -> str:
        cmd = [*_as_postgres(), str(_pg_bin() / "psql"), "-h", str(self.socket_dir), "-p", str(self.port),
               "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql]  # fmt: skip
        return _run(cmd, "psql").stdout.strip()

    def _ensure_database(self, role: str, password: str) -> None:
        if not role.isidentifier() or not all(c in "0123456789abcdef" for c in password):
            raise ServiceError(f"role {role!r}: names are identifiers and passwords hex (the env file's)")
        exists = self.psql(f"select 1 from pg_roles where rolname = '{role}'")
        verb = "alter" if exists else "create"
        self.psql(f"{verb} role {role} with login password '{password}'")
        if not self.psql(f"select 1 from pg_database where datname = '{role}'"):
            self.psql(f"create database {role} owner {role}")

    def down(self) -> bool:
        if not self.running():
            return False
        _run([*_as_postgres(), str(_pg_bin() / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w"],
             "PostgreSQL stop")  # fmt: skip
        return True


@dataclass(frozen=True)
class Redis:
    root: Path  # $CREDIT_HOME/services/redis
    port: int

    @property
    def conf(self) -> Path:
        return self.root / "redis.conf"

    @property
    def pidfile(self) -> Path:
        return self.root / "redis.pid"

    def _pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        return self._pid() is not None

    def up(self, password: str) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise ServiceError(
                "redis-server not installed: apt-get install redis-server (make prod-check installs it)"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        settings = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "protected-mode": "yes",
            "daemonize": "yes",
            "pidfile": str(self.pidfile),
            "logfile": str(self.root / "redis.log"),
            "dir": str(self.root),
            "save": '""',
            "appendonly": "no",
            "requirepass": password,
            "maxmemory": "256mb",
            "maxmemory-policy": "volatile-lru",
        }
        fd = os.open(self.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("".join(f"{k} {v}\n" for k, v in settings.items()))
        if not self.running():
            _run([server, str(self.conf)], f"Redis start (log: {self.root / 'redis.log'})")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.ping(password):
                return
            time.sleep(0.1)
        raise ServiceError(f"Redis did not answer on 127.0.0.1:{self.port} (log: {self.root / 'redis.log'})")

    def ping(self, password: str) -> bool:
        import redis

        try:
            return bool(
                redis.Redis(host="127.0.0.1", port=self.port, password=password, socket_timeout=1).ping()
            )
        except redis.RedisError:
            return False

    def down(self) -> bool:
        pid = self._pid()
        if pid is None:
            return False
        os.kill(pid, 15)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self._pid() is not None:
            time.sleep(0.1)
        return True


def postgres(home: Path, port: int) -> Postgres:
    return Postgres(home / "services" / "postgres", port)


def redis_service(home: Path, port: int) -> Redis:
    return Redis(home / "services" / "redis", port)
