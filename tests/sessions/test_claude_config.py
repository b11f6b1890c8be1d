"""Pre-accepting Claude Code's workspace trust in .claude.json."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from hangar.daemon.sessions import claude_config
from hangar.daemon.sessions.claude_config import ClaudeConfigError, trust_worktree

ORIGINAL = """{
  "numStartups": 42,
  "ratio": 1.50,
  "tiny": 1e-7,
  "big": 123456789012345678901234567890,
  "oauthAccount": {"emailAddress": "dev@example.com"},
  "name": "Zoë \\u00e9",
  "projects": {
    "/srv/other": {"allowedTools": ["Bash(ls)"], "hasTrustDialogAccepted": false, "cost": 0.10}
  }
}
"""


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def test_merges_and_keeps_every_other_key(tmp_path: Path) -> None:
    cfg = tmp_path / ".claude.json"
    cfg.write_text(ORIGINAL)
    wt = tmp_path / "wt"
    wt.mkdir()
    trust_worktree(wt, config_file=cfg)
    doc = load(cfg)
    assert doc["projects"] == {
        "/srv/other": {"allowedTools": ["Bash(ls)"], "hasTrustDialogAccepted": False, "cost": 0.1},
        str(wt.resolve()): {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True},
    }
    assert doc["hasCompletedOnboarding"] is True
    assert doc["oauthAccount"] == {"emailAddress": "dev@example.com"}
    assert doc["name"] == "Zoë é"
    text = cfg.read_text()
    for spelling in ("1.50", "1e-7", "123456789012345678901234567890", "0.10"):
        assert spelling in text  # numbers keep their exact text
    assert list(doc)[:3] == ["numStartups", "ratio", "tiny"]  # order kept


def test_keeps_an_existing_entry_and_onboarding_flag(tmp_path: Path) -> None:
    cfg = tmp_path / ".claude.json"
    wt = tmp_path / "wt"
    entry = {"allowedTools": ["Edit"], "hasTrustDialogAccepted": False}
    doc = {"hasCompletedOnboarding": False, "projects": {str(wt.resolve()): entry}}
    cfg.write_text(json.dumps(doc))
    trust_worktree(wt, config_file=cfg)
    after = load(cfg)
    assert after["hasCompletedOnboarding"] is False  # set only when absent
    assert after["projects"] == {
        str(wt.resolve()): {
            "allowedTools": ["Edit"],
            "hasTrustDialogAccepted": True,
            "hasCompletedProjectOnboarding": True,
        }
    }


def test_the_exact_resolved_path_is_trusted(tmp_path: Path) -> None:
    cfg = tmp_path / ".claude.json"
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    trust_worktree(link / ".." / "link", config_file=cfg)
    assert list(load(cfg)["projects"]) == [str(real)]


def test_creates_a_missing_file_private(tmp_path: Path) -> None:
    cfg = tmp_path / "sub" / ".claude.json"
    trust_worktree(tmp_path, config_file=cfg)
    assert load(cfg)["projects"] == {
        str(tmp_path.resolve()): {
            "hasTrustDialogAccepted": True,
            "hasCompletedProjectOnboarding": True,
        }
    }
    assert cfg.stat().st_mode & 0o777 == 0o600
    assert not cfg.with_name(".claude.json.hangar.bak").exists()  # nothing to back up


def test_mode_kept_backup_written_once(tmp_path: Path) -> None:
    cfg = tmp_path / ".claude.json"
    cfg.write_text(ORIGINAL)
    cfg.chmod(0o640)
    trust_worktree(tmp_path / "a", config_file=cfg)
    trust_worktree(tmp_path / "b", config_file=cfg)
    assert cfg.stat().st_mode & 0o777 == 0o640
    assert cfg.with_name(".claude.json.hangar.bak").read_text() == ORIGINAL
    assert not cfg.with_name(".claude.json.lock").exists()  # Claude's own lock name: untouched
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_symlinked_config_stays_a_symlink(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles.json"
    dotfiles.write_text("{}")
    cfg = tmp_path / ".claude.json"
    cfg.symlink_to(dotfiles)
    trust_worktree(tmp_path, config_file=cfg)
    assert cfg.is_symlink()
    assert str(tmp_path.resolve()) in load(dotfiles)["projects"]


@pytest.mark.parametrize(
    "content",
    ['{"projects": {', "[1, 2]", '{"projects": []}', b"\xff\xfe{}", "not json"],
)
def test_unmergeable_files_are_refused_and_left_untouched(
    tmp_path: Path, content: str | bytes
) -> None:
    cfg = tmp_path / ".claude.json"
    raw = content.encode() if isinstance(content, str) else content
    cfg.write_bytes(raw)
    with pytest.raises(ClaudeConfigError, match=str(cfg)):
        trust_worktree(tmp_path, config_file=cfg)
    assert cfg.read_bytes() == raw
    assert not cfg.with_name(".claude.json.hangar.bak").exists()


def test_an_empty_file_is_treated_as_empty_config(tmp_path: Path) -> None:
    cfg = tmp_path / ".claude.json"
    cfg.write_text("")
    trust_worktree(tmp_path, config_file=cfg)
    assert load(cfg)["hasCompletedOnboarding"] is True


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / ".claude.json"
    cfg.write_text(ORIGINAL)
    paths = [tmp_path / f"wt-{i}" for i in range(40)]
    errors: list[BaseException] = []

    def work(chunk: list[Path]) -> None:
        try:
            for p in chunk:
                trust_worktree(p, config_file=cfg)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(paths[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    projects = load(cfg)["projects"]
    assert isinstance(projects, dict)
    assert set(projects) == {"/srv/other", *(str(p.resolve()) for p in paths)}


async def test_async_wrapper_and_env_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "cc"))
    await claude_config.trust_worktree_async(tmp_path)
    assert str(tmp_path.resolve()) in load(tmp_path / "cc" / ".claude.json")["projects"]
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert claude_config.config_file_path() == tmp_path / "home" / ".claude.json"


def test_project_dir_and_transcripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    cwd = tmp_path / "my.repo" / "wt_1"
    cwd.mkdir(parents=True)
    encoded = "".join(c if c.isalnum() else "-" for c in str(cwd.resolve()))
    project = tmp_path / "home" / ".claude" / "projects" / encoded
    assert claude_config.claude_project_dir(cwd) == project
    assert "my-repo-wt-1" in project.name and project.name.startswith("-")
    assert not claude_config.has_transcript(cwd, "abc")
    project.mkdir(parents=True)
    (project / "abc.jsonl").write_text("{}\n")
    assert claude_config.has_transcript(cwd, "abc")
    assert not claude_config.has_transcript(cwd, "../abc")
    assert not claude_config.has_transcript(cwd, "")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "cc"))
    assert claude_config.claude_project_dir(cwd) == tmp_path / "cc" / "projects" / encoded


def test_lock_file_is_a_sidecar(tmp_path: Path) -> None:
    cfg = tmp_path / ".claude.json"
    trust_worktree(tmp_path, config_file=cfg)
    lock = cfg.with_name(".claude.json" + claude_config.LOCK_SUFFIX)
    assert lock.is_file()
    assert os.stat(lock).st_mode & 0o777 == 0o600


def test_an_already_trusted_path_is_not_rewritten(tmp_path: Path) -> None:
    cfg = tmp_path / ".claude.json"
    trust_worktree(tmp_path, config_file=cfg)
    before = cfg.stat().st_ino
    trust_worktree(tmp_path, config_file=cfg)
    assert cfg.stat().st_ino == before  # no atomic replace happened
