"""The devnet's PostgreSQL is a real server, and the schema is versioned by migrations."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from hydrogen.db.migrate import MIGRATIONS_DIR, MigrationError, discover, migrate
from hydrogen.devnet.postgres import ExternalPostgres
from hydrogen.devnet.supervisor import Devnet


def test_a_5_mb_bytea_round_trips_byte_for_byte(pg_dsn: str) -> None:
    blob = os.urandom(5 * 1024 * 1024)
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("CREATE TEMP TABLE blobs (id int PRIMARY KEY, data bytea NOT NULL)")
        conn.execute("INSERT INTO blobs VALUES (1, %b)", (blob,))
        with conn.cursor(binary=True) as cur:
            (back,) = cur.execute("SELECT data FROM blobs WHERE id = 1").fetchone()
    assert len(back) == len(blob)
    assert hashlib.sha256(back).digest() == hashlib.sha256(blob).digest()


def test_the_devnet_schema_has_every_migration_applied(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY 1"
        ).fetchall()
    assert rows == [(m.version, m.name, m.checksum) for m in discover()]


@pytest.fixture
def scratch_db(pg_dsn: str) -> Iterator[str]:
    name = f"scratch_{uuid.uuid4().hex[:10]}"
    admin_dsn = pg_dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_dsn.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_migrate_applies_each_migration_once(scratch_db: str) -> None:
    first = migrate(scratch_db)
    again = migrate(scratch_db)
    assert [m.version for m in first] == [m.version for m in discover()]
    assert again == []


def test_an_applied_migration_that_was_edited_is_refused(scratch_db: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    migrate(scratch_db, folder)
    edited = sorted(folder.glob("*.sql"))[0]
    edited.write_text(edited.read_text() + "\n-- edited\n")
    with pytest.raises(MigrationError, match=edited.name):
        migrate(scratch_db, folder)


def test_a_failing_migration_leaves_no_trace(scratch_db: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    nxt = len(discover(folder)) + 1
    (folder / f"{nxt:04d}_broken.sql").write_text(
        "CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;\n"
    )
    with pytest.raises(psycopg.errors.UndefinedTable):
        migrate(scratch_db, folder)
    with psycopg.connect(scratch_db) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_migrations")]
        leftover = conn.execute("SELECT to_regclass('half_done')").fetchone()
    assert nxt not in versions
    assert leftover == (None,)


def test_a_devnet_given_hydrogen_pg_dsn_uses_that_server_and_never_stops_it(
    scratch_db: str, tmp_path: Path
) -> None:
    external = Devnet.open(tmp_path / "devnet", pg_dsn=scratch_db).postgres
    assert isinstance(external, ExternalPostgres)
    assert external.health().ok
    external.prepare()  # migrates the server it was given
    assert external.stop() is False
    with psycopg.connect(scratch_db) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [m.version for m in discover()]
