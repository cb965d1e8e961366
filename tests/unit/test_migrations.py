from __future__ import annotations

import re
from pathlib import Path

import pytest

from hydrogen.db.migrate import MigrationError, discover


def test_the_shipped_migrations_are_numbered_without_gaps() -> None:
    versions = [m.version for m in discover()]
    assert versions == list(range(1, len(versions) + 1))
    assert versions  # the schema is not empty


def test_a_badly_named_migration_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("SELECT 1;")
    (tmp_path / "2_bad-name.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=re.escape("'2_bad-name.sql'")):
        discover(tmp_path)


def test_a_gap_in_versions_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_c.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"found \[1, 3\]"):
        discover(tmp_path)
