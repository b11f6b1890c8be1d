"""Build-time checks: the ten templates and the bundled toolkit of Agent Skills agree.

A template naming a skill the toolkit lacks, a skill whose front matter breaks the Agent Skills
format, or a toolkit skill that no template uses fails here, before anything ships.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from hangar.core.templates import TEMPLATE_NAMES, TEMPLATES, Template, get_template
from hangar.toolkit import SKILLS_DIR

# contract.md §10, in its canonical order
CONTRACT: list[tuple[str, tuple[str, ...]]] = [
    ("code-reviewer", ("commit", "find-missing-tests")),
    ("brainstormer", ("brainstorm", "discuss")),
    ("bug-fixer", ("debug-bridge", "expect-test")),
    ("test-writer-fixer", ("find-missing-tests", "expect-test")),
    ("security-agent", ("commit", "critique")),
    ("distinguished-engineer", ("critique", "expose", "design-md")),
    ("planner", ("plan", "plan-tdd", "expose")),
    ("release-manager", ("commit", "gh-issue")),
    ("backend-developer", ("implement", "commit", "find-missing-tests")),
    ("frontend-developer", ("frontend-design", "implement", "commit")),
]

NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_SKILL_MD_LINES = 500


def skill_dirs() -> list[Path]:
    return sorted(p for p in SKILLS_DIR.iterdir() if p.is_dir())


def front_matter(skill_md: Path) -> tuple[dict[str, Any], str]:
    text = skill_md.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines and lines[0] == "---", f"{skill_md}: must start with a '---' fence"
    try:
        end = lines.index("---", 1)
    except ValueError:
        pytest.fail(f"{skill_md}: front matter has no closing '---' fence")
    meta = yaml.safe_load("\n".join(lines[1:end]))
    assert isinstance(meta, dict), f"{skill_md}: front matter is not a mapping"
    return meta, "\n".join(lines[end + 1 :])


def test_ten_templates_in_canonical_order() -> None:
    assert len(TEMPLATES) == 10
    assert [(t.name, t.skills) for t in TEMPLATES] == CONTRACT
    assert tuple(name for name, _ in CONTRACT) == TEMPLATE_NAMES


@pytest.mark.parametrize("template", TEMPLATES, ids=TEMPLATE_NAMES)
def test_template_fields(template: Template) -> None:
    assert NAME_RE.fullmatch(template.name)
    assert template.description.strip() == template.description
    assert template.description and "\n" not in template.description
    assert template.purpose and "\n" not in template.purpose
    lines = template.instructions.strip().splitlines()
    assert 8 <= len(lines) <= 25, f"{template.name}: {len(lines)} lines of instructions"
    assert len(set(template.skills)) == len(template.skills)
    for skill in template.skills:
        # the instructions tell the agent when to reach for each of its skills
        assert skill in template.instructions, f"{template.name} never mentions {skill}"


def test_template_is_frozen() -> None:
    with pytest.raises(AttributeError):
        TEMPLATES[0].name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(("name", "skills"), CONTRACT, ids=[n for n, _ in CONTRACT])
def test_every_named_skill_is_bundled(name: str, skills: tuple[str, ...]) -> None:
    for skill in skills:
        assert (SKILLS_DIR / skill / "SKILL.md").is_file(), f"{name} needs toolkit skill {skill}"


def test_toolkit_holds_exactly_the_skills_templates_use() -> None:
    used = {s for t in TEMPLATES for s in t.skills}
    bundled = {p.name for p in skill_dirs()}
    assert len(used) == 14
    assert bundled - used == set(), "toolkit skills no template uses"
    assert used - bundled == set(), "skills the templates name but the toolkit lacks"


@pytest.mark.parametrize("skill_dir", skill_dirs(), ids=lambda p: p.name)
def test_skill_is_a_valid_agent_skill(skill_dir: Path) -> None:
    skill_md = skill_dir / "SKILL.md"
    assert skill_md.is_file() and not skill_md.is_symlink()
    meta, body = front_matter(skill_md)
    name = meta.get("name")
    assert name == skill_dir.name
    assert isinstance(name, str) and NAME_RE.fullmatch(name) and len(name) <= 64
    description = meta.get("description")
    assert isinstance(description, str) and 1 <= len(description.strip()) <= 1024
    assert set(meta) <= {
        "name",
        "description",
        "license",
        "compatibility",
        "metadata",
        "allowed-tools",
    }
    if "license" in meta:
        assert meta["license"] == "MIT"
    body_lines = body.strip().splitlines()
    assert 30 <= len(body_lines) < MAX_SKILL_MD_LINES
    assert body_lines[0].startswith("# "), "the body opens with a heading"


@pytest.mark.parametrize("skill_dir", skill_dirs(), ids=lambda p: p.name)
def test_skill_files_are_real_and_scripts_have_shebangs(skill_dir: Path) -> None:
    for path in skill_dir.rglob("*"):
        assert not path.is_symlink(), f"{path} is a symlink"
        assert path.is_dir() or path.is_file()
        if path.name == "__pycache__" or "__pycache__" in path.parts:
            continue
        rel = path.relative_to(skill_dir)
        if rel.parts[0] == "scripts" and path.is_file():
            assert path.read_bytes().startswith(b"#!"), f"{path} has no shebang"


def test_at_most_three_skills_have_scripts() -> None:
    with_scripts = [p.name for p in skill_dirs() if (p / "scripts").is_dir()]
    assert 1 <= len(with_scripts) <= 3, with_scripts


def test_front_matter_parser_rejects_a_bad_skill(tmp_path: Path) -> None:
    # the checks above really read the files: a skill without fences does not pass
    bad = tmp_path / "SKILL.md"
    bad.write_text("name: x\ndescription: y\n", encoding="utf-8")
    with pytest.raises(AssertionError):
        front_matter(bad)
    bad.write_text("---\nname: x\n", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception):
        front_matter(bad)


@pytest.mark.parametrize("query", ["planner", "PLANNER", "  Planner\n", "\tpLaNnEr "])
def test_get_template_is_case_insensitive(query: str) -> None:
    template = get_template(query)
    assert template is not None
    assert template is TEMPLATES[6]


@pytest.mark.parametrize("query", ["", " ", "plan", "planners", "code_reviewer", "nope"])
def test_get_template_unknown(query: str) -> None:
    assert get_template(query) is None


def test_get_template_finds_every_template() -> None:
    for template in TEMPLATES:
        assert get_template(template.name) is template
        assert get_template(template.name.upper()) is template
