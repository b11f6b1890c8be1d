"""The Agent Skills format: every rule of SKILL.md and of a skill's files."""

from __future__ import annotations

import pytest

from hangar.core.skills import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_SKILL_BYTES,
    SkillBundle,
    SkillFile,
    SkillFormatError,
    build_bundle,
    check_file_path,
    duplicates,
    is_script,
    name_problem,
    normalise_name,
    parse_skill_md,
)


def skill_md(front: str, body: str = "# Body\n") -> str:
    return f"---\n{front}---\n{body}"


OK = "name: pdf-tools\ndescription: Work with PDF files. Use when the user mentions PDFs.\n"


def problems(text: str, dir_name: str | None = "pdf-tools") -> list[str]:
    with pytest.raises(SkillFormatError) as info:
        parse_skill_md(text, dir_name=dir_name)
    return info.value.problems


# ------------------------------------------------------------------ a valid SKILL.md


def test_minimal_skill() -> None:
    m = parse_skill_md(skill_md(OK), dir_name="pdf-tools")
    assert m.name == "pdf-tools"
    assert m.description.startswith("Work with PDF files")
    assert m.body == "# Body\n"
    assert m.license is None and m.compatibility is None and m.allowed_tools is None
    assert m.metadata == {}


def test_every_optional_field() -> None:
    front = (
        OK
        + "license: Apache-2.0\n"
        + "compatibility: Needs python3 and poppler-utils\n"
        + "metadata:\n  author: hangar\n  version: '1.0'\n"
        + "allowed-tools: Bash(git:*) Read\n"
        + "disable-model-invocation: true\n"  # a CLI's own key: left alone
    )
    m = parse_skill_md(skill_md(front), dir_name="pdf-tools")
    assert m.license == "Apache-2.0"
    assert m.compatibility == "Needs python3 and poppler-utils"
    assert m.metadata == {"author": "hangar", "version": "1.0"}
    assert m.allowed_tools == "Bash(git:*) Read"


def test_allowed_tools_as_a_list() -> None:
    m = parse_skill_md(skill_md(OK + "allowed-tools: [Read, Grep]\n"), dir_name=None)
    assert m.allowed_tools == "Read Grep"


def test_bom_crlf_and_empty_body() -> None:
    text = "\ufeff---\r\n" + OK.replace("\n", "\r\n") + "---\r\n"
    m = parse_skill_md(text, dir_name="pdf-tools")
    assert m.name == "pdf-tools" and m.body == ""


def test_without_a_directory_name_any_valid_name_goes() -> None:
    assert parse_skill_md(skill_md(OK), dir_name=None).name == "pdf-tools"


# ------------------------------------------------------------------ the name


@pytest.mark.parametrize("name", ["a", "a1", "pdf", "pdf-tools", "x-1-y", "9", "a" * 64])
def test_names_ok(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "empty"),
        ("a" * 65, "65 characters; the limit is 64"),
        ("PDF", "lowercase letters"),
        ("pdf_tools", "lowercase letters"),
        ("-pdf", "no hyphen at the start or end"),
        ("pdf-", "no hyphen at the start or end"),
        ("pdf--tools", "single hyphens"),
        ("pdf tools", "lowercase letters"),
        ("pdf.tools", "lowercase letters"),
        ("pdé", "lowercase letters"),
        ("pdf\n", "lowercase letters"),
        (12, "must be a string, got a number"),
        (["a"], "must be a string, got a list"),
    ],
)
def test_names_refused(name: object, why: str) -> None:
    problem = name_problem(name)
    assert problem is not None and why in problem


def test_name_missing() -> None:
    assert problems(skill_md("description: d\n")) == ["name is missing"]


def test_name_must_equal_the_directory() -> None:
    assert problems(skill_md(OK), dir_name="pdf") == [
        "name 'pdf-tools' differs from its directory's name 'pdf'"
    ]


def test_bad_name_in_front_matter() -> None:
    (problem,) = problems(skill_md("name: Pdf-Tools\ndescription: d\n"))
    assert "'Pdf-Tools' is not lowercase letters" in problem


# ------------------------------------------------------------------ the description


def test_description_rules() -> None:
    assert problems(skill_md("name: pdf-tools\n")) == ["description is missing"]
    assert problems(skill_md("name: pdf-tools\ndescription: ''\n")) == ["description is empty"]
    assert problems(skill_md("name: pdf-tools\ndescription: 3\n")) == [
        "description must be a string, got a number"
    ]
    long = "d" * 1025
    assert problems(skill_md(f"name: pdf-tools\ndescription: {long}\n")) == [
        "description is 1025 characters; the limit is 1024"
    ]
    ok = parse_skill_md(skill_md("name: pdf-tools\ndescription: " + "d" * 1024 + "\n"))
    assert len(ok.description) == 1024


# ------------------------------------------------------------------ the optional fields


def test_compatibility_limit() -> None:
    assert problems(skill_md(OK + "compatibility: " + "c" * 501 + "\n")) == [
        "compatibility is 501 characters; the limit is 500"
    ]
    assert parse_skill_md(skill_md(OK + "compatibility: " + "c" * 500 + "\n")).compatibility


def test_optional_fields_must_be_strings() -> None:
    assert problems(skill_md(OK + "license: [MIT]\n")) == ["license must be a string, got a list"]
    assert problems(skill_md(OK + "license: ''\n")) == ["license is empty"]
    assert problems(skill_md(OK + "compatibility: 2\n")) == [
        "compatibility must be a string, got a number"
    ]


def test_metadata_is_string_to_string() -> None:
    assert problems(skill_md(OK + "metadata: [a]\n")) == [
        "metadata must be a mapping of strings, got a list"
    ]
    (problem,) = problems(skill_md(OK + "metadata:\n  version: 1.0\n"))
    assert problem.startswith("metadata.version must map a string to a string")


def test_allowed_tools_shape() -> None:
    assert problems(skill_md(OK + "allowed-tools: {a: b}\n")) == [
        "allowed-tools must be a string or a list of strings, got a mapping"
    ]


def test_every_problem_is_named_at_once() -> None:
    found = problems(skill_md("name: Bad_Name\nlicense: 3\n"))
    assert len(found) == 3
    assert "description is missing" in found


# ------------------------------------------------------------------ the fences and the YAML


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "does not start with YAML front matter"),
        ("# Just markdown\n", "does not start with YAML front matter"),
        ("---\nname: a\n", "no closing '---'"),
        ("---\n- a\n- b\n---\n", "must be a mapping, got a list"),
        ("---\n---\n", "must be a mapping, got nothing"),
        ("---\nname: [unclosed\n---\n", "not valid YAML (line"),
        ("---\nname: !!python/object:os.system x\n---\n", "not valid YAML"),
    ],
)
def test_front_matter_refused(text: str, why: str) -> None:
    (problem,) = problems(text)
    assert why in problem


def test_yaml_aliases_are_refused() -> None:
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\n"
    (problem,) = problems(skill_md(OK + bomb))
    assert "aliases" in problem


def test_front_matter_size_limit() -> None:
    (problem,) = problems(skill_md(OK + "x: " + "y" * 70_000 + "\n"))
    assert "front matter is over 64 KiB" in problem


# ------------------------------------------------------------------ names compared


def test_normalise_and_duplicates() -> None:
    assert normalise_name("My_Skill") == "my-skill"
    assert normalise_name(" PDF  Tools ") == "pdf-tools"
    assert normalise_name("\uff50\uff44\uff46") == "pdf"  # fullwidth letters, NFKC
    assert duplicates(["my-skill", "My_Skill", "other"]) == {"my-skill": ["my-skill", "My_Skill"]}
    assert duplicates(["a", "b"]) == {}


# ------------------------------------------------------------------ files


@pytest.mark.parametrize(
    "path",
    ["SKILL.md", "scripts/run.sh", "references/a b.md", "assets/x/y/z.png", ".hidden", "a..b"],
)
def test_paths_ok(path: str) -> None:
    assert check_file_path(path) is None


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("", "empty path"),
        ("/etc/passwd", "absolute"),
        ("C:/x", "absolute"),
        ("../x", "'..' part"),
        ("a/../../x", "'..' part"),
        ("a//b", "empty"),
        ("./a", "'.' or"),
        ("a/", "empty"),
        ("a\\b", "backslash"),
        ("a\0b", "NUL"),
        ("a\nb", "control character"),
        ("x" * 1025, "over 1024 characters"),
    ],
)
def test_paths_refused(path: str, why: str) -> None:
    problem = check_file_path(path)
    assert problem is not None and why in problem


def test_scripts() -> None:
    assert is_script("scripts/run.sh") and is_script("scripts/sub/x.py")
    assert not is_script("scripts/") and not is_script("SKILL.md") and not is_script("a/scripts/x")


def _md(name: str = "pdf-tools") -> SkillFile:
    return SkillFile("SKILL.md", skill_md(f"name: {name}\ndescription: d\n").encode())


def test_bundle_sorted_with_digest() -> None:
    b = build_bundle(
        "pdf-tools",
        [SkillFile("scripts/x.sh", b"#!/bin/sh\n", executable=True), _md(), SkillFile("a", b"")],
    )
    assert isinstance(b, SkillBundle)
    assert [f.path for f in b.files] == ["SKILL.md", "a", "scripts/x.sh"]
    assert b.name == "pdf-tools"
    assert b.total_bytes == sum(len(f.data) for f in b.files)
    same = build_bundle("pdf-tools", list(reversed(b.files)))
    assert same.digest == b.digest
    changed = build_bundle("pdf-tools", [*b.files[:2], SkillFile("scripts/x.sh", b"#!/bin/sh\n")])
    assert changed.digest != b.digest  # the executable bit counts


def test_bundle_problems() -> None:
    with pytest.raises(SkillFormatError, match=r"no SKILL\.md"):
        build_bundle("pdf-tools", [SkillFile("README.md", b"")])
    with pytest.raises(SkillFormatError, match="not UTF-8"):
        build_bundle("pdf-tools", [SkillFile("SKILL.md", b"---\xff\n")])
    with pytest.raises(SkillFormatError, match="appears twice"):
        build_bundle("pdf-tools", [_md(), _md()])
    with pytest.raises(SkillFormatError, match="absolute"):
        build_bundle("pdf-tools", [_md(), SkillFile("/etc/x", b"")])
    with pytest.raises(SkillFormatError, match="differs from its directory"):
        build_bundle("other", [_md()])


def test_bundle_size_limits() -> None:
    with pytest.raises(SkillFormatError, match="big is over 1024 KiB"):
        build_bundle("pdf-tools", [_md(), SkillFile("big", b"x" * (MAX_FILE_BYTES + 1))])
    chunk = b"x" * MAX_FILE_BYTES
    many = [SkillFile(f"f{i}", chunk) for i in range(MAX_SKILL_BYTES // MAX_FILE_BYTES + 1)]
    with pytest.raises(SkillFormatError, match="over 8 MiB"):
        build_bundle("pdf-tools", [_md(), *many])
    files = [SkillFile(f"f{i}", b"") for i in range(MAX_FILES)]
    with pytest.raises(SkillFormatError, match="the limit is 1000"):
        build_bundle("pdf-tools", [_md(), *files])
