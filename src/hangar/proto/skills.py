"""Skills and templates on the wire: their rows and the params and results of their methods
(docs/skills.md)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from hangar.proto.api import AgentArg, FsPath, Params, Result, WorkspaceScoped
from hangar.proto.rows import AgentRow, Row

__all__ = [
    "SkillAttachParams",
    "SkillAttachResult",
    "SkillDetail",
    "SkillFileRow",
    "SkillGetParams",
    "SkillRef",
    "SkillRemoveResult",
    "SkillRow",
    "SkillSyncError",
    "SkillSyncItem",
    "SkillsListParams",
    "SkillsListResult",
    "SkillsSyncParams",
    "SkillsSyncResult",
    "TemplateGetParams",
    "TemplateProvider",
    "TemplateRow",
    "TemplateUseParams",
    "TemplateUseResult",
    "TemplatesListResult",
]

#: a skill or template name as a client may send it (checked for real by the daemon)
NameArg = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
TemplateProvider = Literal["claude", "codex", "gemini", "command"]


class SkillRow(Row, kw_only=True):
    id: str
    workspace_id: str
    name: str
    description: str
    license: str | None = None
    compatibility: str | None = None
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
    allowed_tools: str | None = None
    #: the directory it was last synced from
    source: str | None = None
    #: sha256 over its files' paths, modes and contents
    digest: str | None = None
    file_count: int = 0
    total_bytes: int = 0
    #: how many agents have it attached
    used: int = 0
    created_at: int = 0
    updated_at: int = 0


class SkillFileRow(Row, kw_only=True):
    #: relative to the skill's directory, ``/``-separated
    path: str
    size: int
    #: utf-8: ``content`` is the text; base64: the bytes, base64-encoded
    encoding: Literal["utf-8", "base64"] = "utf-8"
    executable: bool = False
    #: present when asked for (``include_content``)
    content: str | None = None


class SkillsSyncParams(WorkspaceScoped, kw_only=True):
    #: an absolute directory whose subdirectories are skills; absent: the bundled toolkit
    source_path: FsPath | None = None
    #: check and say what would change, write nothing
    dry_run: bool = False


class SkillSyncItem(Result, kw_only=True):
    name: str
    #: created | updated | unchanged
    status: str
    file_count: int = 0
    total_bytes: int = 0


class SkillSyncError(Result, kw_only=True):
    #: the skill's directory name
    skill: str
    reason: str


class SkillsSyncResult(Result, kw_only=True):
    source: str
    dry_run: bool
    #: False when nothing was written: a dry run, or a batch with errors (all or nothing)
    written: bool
    skills: list[SkillSyncItem]
    #: skills refused; any error refuses the whole batch
    errors: list[SkillSyncError] = msgspec.field(default_factory=list)
    #: directories of the source that are not skills (no SKILL.md)
    skipped: list[SkillSyncError] = msgspec.field(default_factory=list)


class SkillsListParams(WorkspaceScoped, kw_only=True):
    #: only the skills attached to this agent (name or id)
    agent: AgentArg | None = None


class SkillsListResult(Result, kw_only=True):
    #: ordered by name
    skills: list[SkillRow]


class SkillRef(WorkspaceScoped, kw_only=True):
    #: name or id
    skill: NameArg


class SkillGetParams(SkillRef, kw_only=True):
    #: the files' contents too (else only their paths, sizes and modes)
    include_content: bool = False


class SkillDetail(Result, kw_only=True):
    skill: SkillRow
    #: the Markdown of SKILL.md after its front matter
    body: str
    files: list[SkillFileRow]
    #: names of the agents it is attached to
    agents: list[str]


class SkillAttachParams(SkillRef, kw_only=True):
    #: name or id
    agent: AgentArg


class SkillAttachResult(Result, kw_only=True):
    skill: str
    agent: str
    #: False: it already was attached (attach) or was not (detach)
    changed: bool


class SkillRemoveResult(Result, kw_only=True):
    skill: str
    #: agents it was detached from
    detached: int


class TemplateRow(Row, kw_only=True):
    name: str
    description: str
    purpose: str
    instructions: str
    skills: list[str]


class TemplatesListResult(Result, kw_only=True):
    #: in the canonical order
    templates: list[TemplateRow]


class TemplateGetParams(Params, kw_only=True):
    name: NameArg


class TemplateUseParams(WorkspaceScoped, kw_only=True):
    name: NameArg
    #: the new agent's name; absent: the template's
    agent_name: str | None = None
    provider: TemplateProvider = "claude"
    #: the argv to run (the command provider), or the CLI's executable (the others)
    command: list[AgentArg] | None = None
    model: str | None = None
    repo_path: FsPath | None = None


class TemplateUseResult(Result, kw_only=True):
    agent: AgentRow
    #: attached to the agent, in the template's order
    skills: list[str]
    #: bundled skills the workspace lacked, synced first (in the same transaction)
    imported: list[str] = msgspec.field(default_factory=list)
