"""Reading a directory of skills: what is imported, what is refused, and why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hangar.adapters import skill_source
from hangar.adapters.skill_source import SourceProblem, read_source
from hangar.core.skills import MAX_FILE_BYTES
from tests.skillkit import skill_text, write_skill


def reasons(scan_errors: list[SourceProblem]) -> dict[str, str]:
    return {p.skill: p.reason for p in scan_errors}


def test_reads_every_skill_with_sorted_files(tmp_path: Path) -> None:
    write_skill(
        tmp_path,
        "pdf-tools",
        files={
            "scripts/extract.py": "print('hi')\n",
            "references/REFERENCE.md": "# Ref\n",
            "assets/logo.png": b"\x89PNG\r\n\x1a\n\xff\x00",
        },
    )
    write_skill(tmp_path, "commit")
    (tmp_path / "README.md").write_text("not a skill\n")
    scan = read_source(tmp_path)
    assert scan.errors == [] and scan.skipped == []
    assert [s.name for s in scan.skills] == ["commit", "pdf-tools"]
    pdf = scan.skills[1]
    assert [f.path for f in pdf.files] == [
        "SKILL.md",
        "assets/logo.png",
        "references/REFERENCE.md",
        "scripts/extract.py",
    ]
    assert pdf.files[1].data == b"\x89PNG\r\n\x1a\n\xff\x00"  # binary kept as it is


def test_executable_bit_is_kept(tmp_path: Path) -> None:
    d = write_skill(tmp_path, "tool", files={"bin/run": "#!/bin/sh\n"})
    os.chmod(d / "bin" / "run", 0o755)
    (skill,) = read_source(tmp_path).skills
    assert {f.path: f.executable for f in skill.files} == {"SKILL.md": False, "bin/run": True}


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_source(tmp_path / "nope")
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotADirectoryError):
        read_source(tmp_path / "f")


def test_the_skill_directory_itself_is_not_a_source(tmp_path: Path) -> None:
    d = write_skill(tmp_path, "one")
    (reason,) = reasons(read_source(d).errors).values()
    assert "pass the directory that holds the skill directories" in reason


def test_missing_skill_md_is_skipped_and_said(tmp_path: Path) -> None:
    write_skill(tmp_path, "good")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "x.md").write_text("x")
    (tmp_path / ".git").mkdir()  # hidden directories are not even mentioned
    scan = read_source(tmp_path)
    assert [s.name for s in scan.skills] == ["good"]
    assert scan.errors == []
    assert reasons(scan.skipped) == {"notes": "no SKILL.md: not a skill"}


def test_lowercase_skill_md_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "almost").mkdir()
    (tmp_path / "almost" / "skill.md").write_text(skill_text("almost"))
    assert reasons(read_source(tmp_path).errors) == {
        "almost": "has skill.md: the file must be named SKILL.md"
    }


def test_name_must_match_directory(tmp_path: Path) -> None:
    write_skill(tmp_path, "pdf", dir_name="pdf-tools")
    (reason,) = reasons(read_source(tmp_path).errors).values()
    assert reason == "name 'pdf' differs from its directory's name 'pdf-tools'"


def test_invalid_front_matter_is_named(tmp_path: Path) -> None:
    d = tmp_path / "bad"
    d.mkdir()
    (d / "SKILL.md").write_text("---\nname: bad\n---\n")
    assert reasons(read_source(tmp_path).errors) == {"bad": "description is missing"}


def test_duplicates_after_normalising(tmp_path: Path) -> None:
    write_skill(tmp_path, "my-skill")
    write_skill(tmp_path, "My_Skill")
    scan = read_source(tmp_path)
    found = reasons(scan.errors)
    assert set(found) == {"my-skill", "My_Skill"}
    assert "same skill as 'My_Skill' once names are normalised ('my-skill')" in found["my-skill"]
    assert scan.skills == []


def test_symlink_to_etc_is_refused(tmp_path: Path) -> None:
    d = write_skill(tmp_path, "sneaky")
    os.symlink("/etc/passwd", d / "passwd")
    (reason,) = reasons(read_source(tmp_path).errors).values()
    assert "passwd is a symlink to /etc/passwd, outside the skill" in reason


def test_symlinked_directory_to_etc_is_refused(tmp_path: Path) -> None:
    d = write_skill(tmp_path, "sneaky")
    os.symlink("/etc", d / "etc")
    (reason,) = reasons(read_source(tmp_path).errors).values()
    assert "etc is a symlink to /etc, outside the skill" in reason


def test_skill_directory_symlinked_out_of_the_source_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    write_skill(elsewhere, "far")
    source = tmp_path / "source"
    source.mkdir()
    os.symlink(elsewhere / "far", source / "far")
    (reason,) = reasons(read_source(source).errors).values()
    assert "is a symlink to" in reason and "outside" in reason


def test_symlink_inside_the_skill_is_copied_as_a_file(tmp_path: Path) -> None:
    d = write_skill(tmp_path, "linked", files={"real.md": "content\n"})
    os.symlink("real.md", d / "alias.md")
    (skill,) = read_source(tmp_path).skills
    assert {f.path: f.data for f in skill.files}["alias.md"] == b"content\n"


def test_dangling_symlink(tmp_path: Path) -> None:
    d = write_skill(tmp_path, "dangling")
    os.symlink(d / "gone", d / "link")
    (reason,) = reasons(read_source(tmp_path).errors).values()
    assert "link is a dangling symlink" in reason or "outside" in reason


def test_100_mb_file_is_refused_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = write_skill(tmp_path, "huge")
    with open(d / "big.bin", "wb") as fh:  # sparse: no disk used, 100 MB long
        fh.truncate(100 * 1024 * 1024)
    opened: list[str] = []
    real_open = os.open

    def recording_open(path: str, *args: int) -> int:
        opened.append(os.path.basename(path))
        return real_open(path, *args)

    monkeypatch.setattr(skill_source.os, "open", recording_open)
    scan = read_source(tmp_path)
    (reason,) = reasons(scan.errors).values()
    assert "big.bin is 100.0 MiB; a file may hold 1024 KiB" in reason
    assert "big.bin" not in opened  # refused from its size, never opened


def test_file_just_over_the_cap(tmp_path: Path) -> None:
    write_skill(tmp_path, "edge", files={"ok.bin": b"x" * MAX_FILE_BYTES})
    assert [s.name for s in read_source(tmp_path).skills] == ["edge"]
    write_skill(tmp_path, "over", files={"no.bin": b"x" * (MAX_FILE_BYTES + 1)})
    assert "no.bin is" in reasons(read_source(tmp_path).errors)["over"]


def test_skill_total_cap(tmp_path: Path) -> None:
    files: dict[str, bytes | str] = {f"part{i}.bin": b"x" * MAX_FILE_BYTES for i in range(9)}
    write_skill(tmp_path, "fat", files=files)
    assert "over 8 MiB" in reasons(read_source(tmp_path).errors)["fat"]


def test_fifo_is_refused_not_read(tmp_path: Path) -> None:
    d = write_skill(tmp_path, "piped")
    os.mkfifo(d / "pipe")
    (reason,) = reasons(read_source(tmp_path).errors).values()
    assert "pipe is not a regular file" in reason


def test_bad_file_name_is_refused(tmp_path: Path) -> None:
    d = write_skill(tmp_path, "odd")
    (d / "a\\b").write_text("x")
    assert "backslash" in reasons(read_source(tmp_path).errors)["odd"]


def test_version_control_and_caches_are_left_out(tmp_path: Path) -> None:
    d = write_skill(tmp_path, "repo", files={".git/HEAD": "ref\n", "__pycache__/x.pyc": b"\0"})
    (skill,) = read_source(tmp_path).skills
    assert [f.path for f in skill.files] == ["SKILL.md"]
    assert d.exists()


def test_one_bad_skill_does_not_hide_the_good_ones(tmp_path: Path) -> None:
    write_skill(tmp_path, "good")
    write_skill(tmp_path, "bad", dir_name="wrong")
    scan = read_source(tmp_path)
    assert [s.name for s in scan.skills] == ["good"]
    assert list(reasons(scan.errors)) == ["wrong"]
