from __future__ import annotations

import re

import pytest

from relay_api.blobstore import InvalidKeyError, check_key


@pytest.mark.parametrize("key", ["a", "tasks/0x12/args.json", "r/1/node-0_x.png"])
def test_plain_relative_keys_are_accepted(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    "key", ["", "/etc/passwd", "../x", "a/../b", "a//b", "./a", "a/", "a b", "é"]
)
def test_keys_that_are_not_plain_relative_paths_are_refused_by_name(key: str) -> None:
    with pytest.raises(InvalidKeyError, match=re.escape(f"invalid blob key {key!r}")):
        check_key(key)
