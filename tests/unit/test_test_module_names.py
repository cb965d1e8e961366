"""Test folders are not packages: pytest imports each test file by its bare name, so two files
of one name in different folders break the collection of the whole suite."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_module_name_is_unique() -> None:
    # conftest.py files are loaded by path, one per folder: the one name allowed twice.
    names = Counter(
        p.name for p in TESTS.rglob("*.py") if p.name not in ("__init__.py", "conftest.py")
    )
    assert [name for name, n in names.items() if n > 1] == []
