"""The embedded default database: a throwaway PostgreSQL 15 + PostGIS cluster on loopback.

``patrol db up`` creates the cluster under the project's data directory (``data/pg``) on the first
run, starts it on a free loopback port with a database ``patrol`` that has PostGIS, and ``patrol db
down`` stops it. PostgreSQL refuses to run as root, so when we are root its programs run as the
``postgres`` system user that the Debian package creates. Only 127.0.0.1 is listened on and local
connections are trusted (the role ``patrol_service``, which the API connects as, logs in
without a password): this cluster is for one machine's demo and tests, not for production,
where ``DATABASE_URL`` names the real server.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DATABASE = "patrol"
SUPERUSER = "postgres"
#: Connections the cluster accepts: each API worker's pools hold up to 47 (alarms 20, service
#: 20, positions 4, keys 2, console 1), and the commands, the simulator and the tests add theirs.
MAX_CONNECTIONS = 300

#: The role the API connects as (its rights are granted by migration 0009); this statement, run
#: on the cluster by a superuser, lets it log in.
SERVICE_ROLE = "patrol_service"
SERVICE_LOGIN_SQL = f"""
DO $$ BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{SERVICE_ROLE}') THEN
        ALTER ROLE {SERVICE_ROLE} LOGIN;
    ELSE
        CREATE ROLE {SERVICE_ROLE} LOGIN;
    END IF;
END $$"""


class ClusterError(RuntimeError):
    """The local cluster could not be created, started or stopped; the message says why."""


@dataclass(frozen=True)
class LocalCluster:
    """A PostgreSQL cluster kept in ``directory`` (its data, socket, port and log)."""

    directory: Path

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def port_file(self) -> Path:
        return self.directory / "port"

    @property
    def log_file(self) -> Path:
        return self.directory / "postgres.log"

    @property
    def port(self) -> int:
        try:
            return int(self.port_file.read_text())
        except (FileNotFoundError, ValueError):
            raise ClusterError(f"no local database in {self.directory}: run `patrol db up` or "
                               f"set DATABASE_URL") from None

    def url(self, database: str = DATABASE) -> str:
        """SQLAlchemy URL of a database of the cluster (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def is_running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        return self._pg("pg_ctl", "status", "-D", str(self.data_dir), check=False).returncode == 0

    def up(self) -> str:
        """Create (first time) and start the cluster; return the ``patrol`` database URL."""
        _require_postgres()
        if not (self.data_dir / "PG_VERSION").exists():
            self._init()
        if not self.is_running():
            self._start()
        self._ensure_database()
        return self.url()

    def down(self) -> None:
        """Stop the cluster if it runs (its data stays for the next ``up``)."""
        if self.is_running():
            self._pg("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w")

    def destroy(self) -> None:
        """Stop the cluster and delete its directory."""
        self.down()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._hand_to_postgres(self.directory)
        if os.geteuid() == 0 and subprocess.run(
                ["runuser", "-u", SUPERUSER, "--", "test", "-w", str(self.directory)]).returncode:
            raise ClusterError(f"the {SUPERUSER} user cannot reach {self.directory}: every folder "
                               f"above it must be open to others (chmod o+x)")
        self._pg("initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
                 "--encoding=UTF8", "--locale=C.UTF-8")

    def _start(self) -> None:
        port = self._free_port()
        self.port_file.write_text(str(port))
        options = (f"-c listen_addresses=127.0.0.1 -c port={port} "
                   f"-c unix_socket_directories={self.directory} -c max_connections={MAX_CONNECTIONS}")
        self._pg("pg_ctl", "start", "-D", str(self.data_dir), "-w", "-t", "60",
                 "-l", str(self.log_file), "-o", options)

    def _ensure_database(self) -> None:
        exists = self._psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'")
        if exists.strip() != "1":
            self._pg("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, DATABASE)
        self._psql(DATABASE, "CREATE EXTENSION IF NOT EXISTS postgis")
        self._psql("postgres", SERVICE_LOGIN_SQL)

    def _psql(self, database: str, sql: str) -> str:
        result = self._pg("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER,
                          "-d", database, "-tAc", sql)
        return result.stdout

    def _free_port(self) -> int:
        try:
            saved = self.port  # keep the port across restarts: clients hold URLs with it
            with socket.socket() as probe:
                # as PostgreSQL itself does, so that closed connections in TIME_WAIT don't count
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(("127.0.0.1", saved))
            return saved
        except (ClusterError, OSError):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                return probe.getsockname()[1]

    def _hand_to_postgres(self, path: Path) -> None:
        if os.geteuid() == 0:
            user = pwd.getpwnam(SUPERUSER)
            os.chown(path, user.pw_uid, user.pw_gid)
            path.chmod(0o700)

    def _pg(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(PG_BIN / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd="/")
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise ClusterError(f"{program} failed: {detail[-1] if detail else 'no output'} "
                               f"(log: {self.log_file})")
        return result


@contextmanager
def temporary_cluster(prefix: str = "patrol-pg-") -> Iterator[LocalCluster]:
    """A throwaway cluster in a new folder under the system's temporary folder (open to the
    postgres user), stopped and deleted afterwards. For tests and benchmarks."""
    parent = Path(tempfile.mkdtemp(prefix=prefix))
    parent.chmod(0o755)
    cluster = LocalCluster(parent / "pg")
    try:
        yield cluster
    finally:
        cluster.destroy()
        shutil.rmtree(parent, ignore_errors=True)


def _require_postgres() -> None:
    if not (PG_BIN / "pg_ctl").exists():
        raise ClusterError("PostgreSQL 15 is not installed: run scripts/setup.sh (it installs "
                           "postgresql-15-postgis-3)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError:
            raise ClusterError("the postgres system user is missing: install "
                               "postgresql-15-postgis-3") from None
