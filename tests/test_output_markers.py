"""Commands that write into a folder the user names (kg reference, label synth, voice
build-testset) write only into a new or empty folder, or one pingce created before (it carries
core.paths.OUTPUT_MARKER); a folder of the user's is refused with one `error:` line, exit 2,
and nothing in it changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pingce.core.paths import OUTPUT_MARKER

COMMANDS = {
    "kg reference": (["kg", "reference", "--out"], "steel.ttl", "--out"),
    "label synth": (["label", "synth"], "images", "OUT_DIR"),
    "voice build-testset": (["voice", "build-testset", "--out"], "protocol.txt", "--out"),
}


# build-testset checks its tools first (no partial set); with one attack and no codec it needs
# only the bona fide recordings
VOICE_ARGS = ["--attacks", "A05", "--conditions", "clean", "--bonafide", "1", "--per-attack", "1"]
NEEDS = {
    "voice build-testset": [pytest.mark.debian_package("klettres-data", path="/usr/share/klettres")]
}


@pytest.mark.parametrize("command", [pytest.param(c, marks=NEEDS.get(c, [])) for c in COMMANDS])
def test_a_users_folder_is_refused(command: str, tmp_path: Path, pingce_cli: Any) -> None:
    args, own_name, option = COMMANDS[command]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / own_name).write_text("the user's own file\n", encoding="utf-8")
    extra = VOICE_ARGS if command == "voice build-testset" else []
    proc = pingce_cli([*args, str(mine), *extra], cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {option}"), proc.stderr
    assert "not created by pingce" in lines[0]
    assert sorted(p.name for p in mine.iterdir()) == [own_name]
    assert (mine / own_name).read_text(encoding="utf-8") == "the user's own file\n"


def test_kg_reference_writes_again_into_its_own_folder(tmp_path: Path, pingce_cli: Any) -> None:
    out = tmp_path / "steel"
    for _ in range(2):
        proc = pingce_cli(["kg", "reference", "--out", str(out)], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    assert (out / OUTPUT_MARKER).is_file() and (out / "steel.ttl").is_file()
