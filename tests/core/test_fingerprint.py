"""The one file/folder fingerprint (pingce.core.fingerprint.path_fingerprint).

Reference: hashlib.sha256 computed here by hand over the documented layout
("relpath\\0size\\0sha256(content)\\n" per file, in path order).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from pingce.core.errors import SpecError
from pingce.core.fingerprint import file_sha256, path_digest, path_fingerprint


def _tree(root: Path) -> Path:
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha")
    (root / "sub" / "b.bin").write_bytes(bytes(range(256)) * 5000)  # > one 1 MiB block
    (root / "sub" / "deep" / "c.txt").write_bytes(b"")
    return root


def _by_hand(root: Path) -> str:
    h = hashlib.sha256()
    for rel in ("a.txt", "sub/b.bin", "sub/deep/c.txt"):
        data = (root / rel).read_bytes()
        h.update(f"{rel}\0{len(data)}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    return h.hexdigest()


def test_file_and_folder_match_a_hand_computed_sha256(tmp_path: Path) -> None:
    root = _tree(tmp_path / "m")
    data = (root / "sub" / "b.bin").read_bytes()
    assert file_sha256(root / "sub" / "b.bin") == hashlib.sha256(data).hexdigest()
    fp = path_fingerprint(root)
    assert fp == {"kind": "folder", "sha256": _by_hand(root), "files": 3, "bytes": 5 + len(data)}
    single = path_fingerprint(root / "a.txt")
    assert single == {
        "kind": "file",
        "sha256": hashlib.sha256(b"alpha").hexdigest(),
        "files": 1,
        "bytes": 5,
    }
    assert path_digest(root) == fp["sha256"]


def test_sub_folder_paths_count_and_location_does_not(tmp_path: Path) -> None:
    root = _tree(tmp_path / "m")
    before = path_digest(root)
    moved = tmp_path / "elsewhere"
    shutil.copytree(root, moved)
    assert path_digest(moved) == before  # same content elsewhere: same fingerprint
    (root / "sub" / "deep" / "c.txt").rename(root / "sub" / "c.txt")  # same bytes, other folder
    assert path_digest(root) != before


def test_editing_adding_and_skipped_folders(tmp_path: Path) -> None:
    root = _tree(tmp_path / "m")
    before = path_digest(root)
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: x")
    assert path_digest(root) == before  # VCS data is not content
    (root / "a.txt").write_bytes(b"alphb")  # same size, new bytes (the cache must not hide it)
    os.utime(root / "a.txt", ns=(1, 1))
    edited = path_digest(root)
    assert edited != before
    (root / "new.txt").write_text("x")
    assert path_digest(root) != edited


def test_links_do_not_loop_and_missing_paths_are_user_errors(tmp_path: Path) -> None:
    root = _tree(tmp_path / "m")
    before = path_digest(root)
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    (root / "dangling").symlink_to(tmp_path / "nothing")
    assert path_digest(root) == before  # linked folders are not followed, dangling links skipped
    with pytest.raises(SpecError, match="does not exist"):
        path_fingerprint(tmp_path / "absent")
