"""Atomic writes: a complete new file or the old one, never a part, and no leftovers."""

from __future__ import annotations

import os

import pytest

from pagegen.core._atomic import TMP_SUFFIX, atomic_open, atomic_write_bytes, atomic_write_text


def test_write_replaces_whole_file(tmp_path):
    path = tmp_path / "out.json"
    atomic_write_bytes(path, b'{"a": 1}')
    assert path.read_bytes() == b'{"a": 1}'
    atomic_write_text(path, "caf\u00e9 \u6f22\u5b57\n")
    assert path.read_text(encoding="utf-8") == "caf\u00e9 \u6f22\u5b57\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_failure_keeps_old_file_and_removes_temp(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(path, "w") as handle:
            handle.write("half of the new")
            raise RuntimeError("writer died")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_temp_file_lives_next_to_destination_until_done(tmp_path):
    path = tmp_path / "sub" / "out.bin"
    path.parent.mkdir()
    with atomic_open(path) as handle:
        handle.write(b"x")
        leftovers = [p.name for p in path.parent.iterdir()]
        assert not path.exists()
        assert len(leftovers) == 1 and leftovers[0].endswith(TMP_SUFFIX)
    assert path.read_bytes() == b"x"


def test_permissions_follow_umask(tmp_path):
    path = tmp_path / "p.txt"
    atomic_write_text(path, "x")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_rejects_other_modes(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        with atomic_open(tmp_path / "x", "ab"):
            pass
