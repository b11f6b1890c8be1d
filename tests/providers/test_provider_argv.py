"""Golden argv per provider (docs/agents.md#providers: flags drift between releases)."""

from __future__ import annotations

import pytest

from hangar.daemon.providers import AgentConfig, LaunchSpec, get_provider
from hangar.daemon.providers.claude import ClaudeProvider
from hangar.daemon.providers.codex import CodexProvider
from hangar.daemon.providers.command import CommandProvider
from hangar.daemon.providers.gemini import GeminiProvider

DASH_PROMPT = "--help me: fix the bug"
OVERRIDE = ["python3", "/x/fake.py", "--scenario", "crash"]


def config(provider: str, **kw: object) -> AgentConfig:
    base: dict[str, object] = {
        "provider": provider,
        "prompt": "Fix it",
        "task_root": "/srv/tasks/ab12",
        "workdir": "/srv/tasks/ab12/workdir",
    }
    base.update(kw)
    return AgentConfig(**base)  # type: ignore[arg-type]


# ---------------------------------------------------------------- claude


def test_claude_minimal() -> None:
    spec = get_provider("claude").launch(config("claude"))
    assert spec == LaunchSpec(
        argv=[
            "claude",
            "-p",
            "--dangerously-skip-permissions",
            "--output-format",
            "stream-json",
            "--verbose",
            "--",
            "Fix it",
        ],
        stdin=None,
    )
    assert spec.env == {}  # no skills were written: no --add-dir either


def test_claude_full() -> None:
    spec = get_provider("claude").launch(
        config(
            "claude",
            command=OVERRIDE,
            model="claude-opus-4-1",
            extra_args=["--max-turns", "30"],
            prompt=DASH_PROMPT,
            add_dirs=["/srv/tasks/ab12"],
        )
    )
    assert spec.argv == [
        "python3",
        "/x/fake.py",
        "--scenario",
        "crash",
        "-p",
        "--dangerously-skip-permissions",
        "--output-format",
        "stream-json",
        "--verbose",
        "--model",
        "claude-opus-4-1",
        "--add-dir",
        "/srv/tasks/ab12",
        "--max-turns",
        "30",
        "--",
        DASH_PROMPT,
    ]
    assert spec.stdin is None


# ---------------------------------------------------------------- codex


def test_codex_minimal() -> None:
    spec = get_provider("codex").launch(config("codex"))
    assert spec.argv == ["codex", "exec", "--json", "--skip-git-repo-check", "-"]
    assert spec.stdin == b"Fix it"
    assert spec.env == {}


def test_codex_full_prompt_on_stdin() -> None:
    spec = get_provider("codex").launch(
        config(
            "codex",
            command=OVERRIDE,
            model="gpt-5-codex",
            extra_args=["-s", "workspace-write"],
            prompt=DASH_PROMPT + " ✓",
        )
    )
    assert spec.argv == [
        "python3",
        "/x/fake.py",
        "--scenario",
        "crash",
        "exec",
        "--json",
        "--skip-git-repo-check",
        "-m",
        "gpt-5-codex",
        "-s",
        "workspace-write",
        "-",
    ]
    assert spec.stdin == (DASH_PROMPT + " ✓").encode()
    assert DASH_PROMPT not in " ".join(spec.argv)


# ---------------------------------------------------------------- gemini


def test_gemini_minimal() -> None:
    spec = get_provider("gemini").launch(config("gemini"))
    assert spec.argv == [
        "gemini",
        "--prompt=Fix it",
        "-o",
        "stream-json",
        "--approval-mode",
        "yolo",
        "--skip-trust",
    ]
    assert spec.stdin is None


def test_gemini_full_dash_prompt_is_one_element() -> None:
    spec = get_provider("gemini").launch(
        config(
            "gemini",
            command=OVERRIDE,
            model="flash",
            extra_args=["-r", "latest"],
            prompt=DASH_PROMPT,
        )
    )
    assert spec.argv == [
        "python3",
        "/x/fake.py",
        "--scenario",
        "crash",
        "--prompt=" + DASH_PROMPT,
        "-o",
        "stream-json",
        "--approval-mode",
        "yolo",
        "--skip-trust",
        "-m",
        "flash",
        "-r",
        "latest",
    ]
    assert DASH_PROMPT not in spec.argv  # never a bare element that could parse as a flag


# ---------------------------------------------------------------- command


def test_command_argv_stdin_and_env() -> None:
    spec = get_provider("command").launch(
        config("command", command=["sh", "-c", "cat"], model="ignored", prompt=DASH_PROMPT)
    )
    assert spec.argv == ["sh", "-c", "cat"]
    assert spec.stdin == DASH_PROMPT.encode()
    assert spec.env == {"HANGAR_PROMPT": DASH_PROMPT}


def test_command_extra_args_are_appended() -> None:
    spec = get_provider("command").launch(
        config("command", command=["./agent.sh"], extra_args=["--fast"])
    )
    assert spec.argv == ["./agent.sh", "--fast"]


@pytest.mark.parametrize("command", [None, []])
def test_command_requires_a_command(command: list[str] | None) -> None:
    with pytest.raises(ValueError, match="needs a command"):
        get_provider("command").launch(config("command", command=command))


def test_command_huge_prompt_only_on_stdin() -> None:
    prompt = "x" * (200 * 1024)
    spec = get_provider("command").launch(config("command", command=["cat"], prompt=prompt))
    assert spec.stdin == prompt.encode()
    assert "HANGAR_PROMPT" not in spec.env


# ---------------------------------------------------------------- registry


def test_registry_names_and_executables() -> None:
    assert isinstance(get_provider("claude"), ClaudeProvider)
    assert isinstance(get_provider("codex"), CodexProvider)
    assert isinstance(get_provider("gemini"), GeminiProvider)
    assert isinstance(get_provider("command"), CommandProvider)
    assert [get_provider(n).executable for n in ("claude", "codex", "gemini")] == [
        "claude",
        "codex",
        "gemini",
    ]
    for name in ("claude", "codex", "gemini", "command"):
        assert get_provider(name).name == name


@pytest.mark.parametrize("name", ["copilot", "", "Claude", "claude ", "gemini-cli"])
def test_unknown_provider_fails_closed(name: str) -> None:
    with pytest.raises(ValueError, match="unknown agent provider"):
        get_provider(name)
