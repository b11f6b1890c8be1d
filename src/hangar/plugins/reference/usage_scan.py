"""Incremental scan of agent session files into a ``UsageData`` snapshot.

Roots: ``~/.claude/projects/**/*.jsonl`` (Claude Code) and ``~/.codex/sessions/**/*.jsonl``
(Codex), under the given home so tests can point it anywhere.

Session files only grow, so each file remembers how far it was read (inode, size, mtime,
offset, and its first bytes). A rescan skips files whose size and mtime did not move,
reads only the appended bytes of the others, and starts a file over when it shrank, was
replaced (new inode) or was rewritten (its first bytes changed). A last line without its
newline is left for the next scan unless it already parses as a whole record.

Claude messages are deduplicated by key across all files (a resumed session copies its
history into a new file; subagent files repeat messages): the merge runs in path order
and the first file to hold a key wins, so the result never depends on scan timing.

Scanning can be sliced: ``start_pass()`` lists the files, ``step(deadline)`` reads until the
deadline (stopping between lines, even inside a file) and ``complete`` says whether the
pass is done; ``scan()`` does a whole pass at once. ``save_state()`` / ``load_state()``
carry the per-file offsets and aggregates across processes, so a new process only reads
what changed since; the saved state is versioned and tied to the time zone and roots, and
anything unreadable or from another version is ignored (the next pass reads from zero).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path

import msgspec

from hangar.plugins.reference.pricing import cost_usd
from hangar.plugins.reference.transcripts import (
    ClaudeParser,
    CodexParser,
    MalformedLine,
    Tokens,
    UsageEvent,
)
from hangar.plugins.reference.usage_data import UsageData, UsageRow

__all__ = ["STATE_VERSION", "UsageScanner", "session_roots"]

# (day, source, model, project)
BucketKey = tuple[str, str, str, str]
_HEAD_BYTES = 64
#: Version of ``save_state()``'s bytes; bump whenever parsing or bucketing changes what a
#: file contributes, so old state is read again from zero instead of trusted.
STATE_VERSION = 1
#: During a sliced read, the clock is looked at every this many lines.
_LINES_PER_CLOCK = 64


def session_roots(home: Path) -> dict[str, Path]:
    """Where each agent CLI keeps its session files, by source name."""
    return {
        "claude": home / ".claude" / "projects",
        "codex": home / ".codex" / "sessions",
    }


@dataclass(slots=True)
class _Bucket:
    tokens: Tokens = field(default_factory=Tokens)
    requests: int = 0

    def add(self, tokens: Tokens) -> None:
        self.tokens = self.tokens + tokens
        self.requests += 1


@dataclass(slots=True)
class _FileState:
    """How far one file was read, and what it contributed."""

    source: str
    parser: ClaudeParser | CodexParser
    inode: int = -1
    size: int = -1
    mtime_ns: int = -1
    offset: int = 0
    head: bytes = b""
    malformed: int = 0
    # A read cut short by a deadline: the file is not caught up even if size and mtime
    # did not move since.
    cut: bool = False
    # Events without a dedupe key, summed as they come.
    buckets: dict[BucketKey, _Bucket] = field(default_factory=dict)
    # Keyed (Claude) events: the last line of each message wins.
    messages: dict[str, tuple[BucketKey, Tokens]] = field(default_factory=dict)


class UsageScanner:
    """Keeps per-file read state; ``scan()`` catches up, ``snapshot()`` aggregates."""

    def __init__(self, home: Path, tz: tzinfo | None = None) -> None:
        self.roots = session_roots(home)
        self._tz = tz  # None: the local time zone, as the user reads their days
        self._files: dict[Path, _FileState] = {}
        self._pending: deque[tuple[str, Path]] = deque()
        self._listed: int | None = None  # files found by the current pass; None: no pass yet

    def scan(self) -> bool:
        """Read what is new on disk; True when anything the snapshot shows changed."""
        changed = self.start_pass()
        return self.step(None) or changed

    def start_pass(self) -> bool:
        """List the session files and queue them all; True when some file vanished."""
        listed = list(self._session_files())
        seen = {path for _, path in listed}
        changed = False
        for gone in set(self._files) - seen:
            del self._files[gone]
            changed = True
        self._pending = deque(listed)
        self._listed = len(listed)
        return changed

    def step(self, deadline: float | None) -> bool:
        """Read queued files until ``deadline`` (``time.monotonic``; None: to the end).

        True when anything the snapshot shows changed. At least one line is read per call,
        so every call makes progress.
        """
        changed = False
        while self._pending:
            source, path = self._pending[0]
            done, moved = self._catch_up(source, path, deadline)
            changed |= moved
            if done:
                self._pending.popleft()
            if deadline is not None and time.monotonic() >= deadline:
                break
        return changed

    @property
    def complete(self) -> bool:
        """A pass was started and every file it found is read to its end."""
        return self._listed is not None and not self._pending

    @property
    def known_files(self) -> int:
        """Files with read state (from this process or ``load_state``)."""
        return len(self._files)

    @property
    def progress(self) -> tuple[int, int]:
        """(files read, files found) in the current pass."""
        listed = self._listed or 0
        return listed - len(self._pending), listed

    def snapshot(self) -> UsageData:
        totals: dict[BucketKey, _Bucket] = {}
        claimed: set[str] = set()
        for path in sorted(self._files):
            state = self._files[path]
            for key, bucket in state.buckets.items():
                into = totals.setdefault(key, _Bucket())
                into.tokens = into.tokens + bucket.tokens
                into.requests += bucket.requests
            for message_key, (key, tokens) in state.messages.items():
                if message_key not in claimed:
                    claimed.add(message_key)
                    totals.setdefault(key, _Bucket()).add(tokens)
        done, found = self.progress
        return UsageData(
            rows=[_row(key, totals[key]) for key in sorted(totals)],
            files=done,
            malformed_lines=sum(s.malformed for s in self._files.values()),
            complete=self.complete,
            files_total=found,
        )

    # -- persisted state -------------------------------------------------------------------

    def save_state(self) -> bytes:
        """Per-file offsets and aggregates, for ``load_state`` in a later process."""
        return msgspec.msgpack.encode(
            _SavedState(
                version=STATE_VERSION,
                zone=self._zone(),
                roots=[str(r) for r in self.roots.values()],
                files=[_save_file(path, st) for path, st in self._files.items()],
            )
        )

    def load_state(self, data: bytes) -> bool:
        """Adopt saved state; False (and nothing adopted) when it is unreadable, of another
        version, or made for other roots or another time zone."""
        try:
            saved = msgspec.msgpack.decode(data, type=_SavedState)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return False
        if (saved.version, saved.zone, saved.roots) != (
            STATE_VERSION,
            self._zone(),
            [str(r) for r in self.roots.values()],
        ):
            return False
        files: dict[Path, _FileState] = {}
        for f in saved.files:
            path = Path(f.path)
            if f.source not in self.roots:
                return False
            try:
                state = self._new_state(f.source, path)
                _restore_file(state, f)
            except (ValueError, TypeError):
                return False
            files[path] = state
        self._files = files
        return True

    def _zone(self) -> str:
        if self._tz is not None:
            return repr(self._tz)
        return f"local:{time.tzname}:{time.timezone}:{time.altzone}"

    # -- files ---------------------------------------------------------------------------

    def _session_files(self) -> Iterator[tuple[str, Path]]:
        for source, root in self.roots.items():
            found: list[Path] = []
            for directory, _dirs, names in os.walk(root):
                found.extend(Path(directory, n) for n in names if n.endswith(".jsonl"))
            for path in sorted(found):
                yield source, path

    def _new_state(self, source: str, path: Path) -> _FileState:
        root = self.roots[source]
        if source == "claude":
            # The encoded-cwd directory name stands in for lines that lack ``cwd``.
            parts = path.relative_to(root).parts
            return _FileState(source, ClaudeParser(parts[0] if len(parts) > 1 else "unknown"))
        return _FileState(source, CodexParser("unknown"))

    def _catch_up(self, source: str, path: Path, deadline: float | None) -> tuple[bool, bool]:
        """(read to the end, changed what the snapshot shows)."""
        state = self._files.get(path)
        try:
            st = path.stat()
            unmoved = (
                (st.st_size, st.st_mtime_ns) == (state.size, state.mtime_ns) if state else False
            )
            if state is not None and unmoved and not state.cut:
                return True, False
            with path.open("rb") as f:
                head = f.read(_HEAD_BYTES)
                restarted = state is None or _replaced(state, st.st_ino, st.st_size, head)
                if state is None or restarted:
                    state = self._files[path] = self._new_state(source, path)
                before = (state.offset, state.malformed)
                state.inode, state.size, state.mtime_ns, state.head = (
                    st.st_ino,
                    st.st_size,
                    st.st_mtime_ns,
                    head,
                )
                f.seek(state.offset)
                state.cut = self._read_lines(state, f, deadline)
        except OSError:
            # Vanished or unreadable: forget it; it is picked up again if it comes back.
            return True, self._files.pop(path, None) is not None
        return not state.cut, restarted or (state.offset, state.malformed) != before

    def _read_lines(self, state: _FileState, f: Iterator[bytes], deadline: float | None) -> bool:
        """Read whole lines from ``f``; True when the deadline cut the read short."""
        for n, line in enumerate(f, 1):
            complete = line.endswith(b"\n")
            if not complete and not _parses(line):
                return False  # a record still being written: read it next time
            state.offset += len(line)
            if line.strip():
                self._ingest(state, line)
            if deadline is not None and n % _LINES_PER_CLOCK == 0 and time.monotonic() >= deadline:
                return True
        return False

    def _ingest(self, state: _FileState, line: bytes) -> None:
        try:
            event = state.parser.feed(line)
        except MalformedLine:
            state.malformed += 1
            return
        if event is None:
            return
        key = self._bucket_key(event)
        if event.key is None:
            state.buckets.setdefault(key, _Bucket()).add(event.tokens)
        else:
            state.messages[event.key] = (key, event.tokens)

    def _bucket_key(self, event: UsageEvent) -> BucketKey:
        day = event.when.astimezone(self._tz).date().isoformat()
        return (day, event.source, event.model, event.project)


class _SavedFile(msgspec.Struct, array_like=True):
    path: str
    source: str
    inode: int
    size: int
    mtime_ns: int
    offset: int
    head: bytes
    malformed: int
    cut: bool
    codex: tuple[str, str, list[int] | None] | None
    buckets: list[tuple[tuple[str, str, str, str], list[int], int]]
    messages: list[tuple[str, tuple[str, str, str, str], list[int]]]


class _SavedState(msgspec.Struct):
    version: int
    zone: str
    roots: list[str]
    files: list[_SavedFile]


def _save_file(path: Path, st: _FileState) -> _SavedFile:
    parser = st.parser
    return _SavedFile(
        path=str(path),
        source=st.source,
        inode=st.inode,
        size=st.size,
        mtime_ns=st.mtime_ns,
        offset=st.offset,
        head=st.head,
        malformed=st.malformed,
        cut=st.cut,
        codex=parser.save() if isinstance(parser, CodexParser) else None,
        buckets=[(k, b.tokens.as_list(), b.requests) for k, b in st.buckets.items()],
        messages=[(m, k, t.as_list()) for m, (k, t) in st.messages.items()],
    )


def _tokens(counts: list[int]) -> Tokens:
    if len(counts) != 6 or any(c < 0 for c in counts):
        raise ValueError(f"not token counts: {counts!r}")
    return Tokens(*counts)


def _restore_file(state: _FileState, f: _SavedFile) -> None:
    state.inode, state.size, state.mtime_ns = f.inode, f.size, f.mtime_ns
    state.offset, state.head, state.malformed, state.cut = f.offset, f.head, f.malformed, f.cut
    if isinstance(state.parser, CodexParser):
        if f.codex is None:
            raise ValueError("a Codex file without its parser state")
        state.parser.restore(f.codex)
    state.buckets = {k: _Bucket(_tokens(t), n) for k, t, n in f.buckets}
    state.messages = {m: (k, _tokens(t)) for m, k, t in f.messages}


def _replaced(state: _FileState, inode: int, size: int, head: bytes) -> bool:
    """True when the file on disk is no longer the one whose prefix was read."""
    if inode != state.inode or size < state.offset:
        return True
    return head[: len(state.head)] != state.head


def _parses(line: bytes) -> bool:
    # A JSON object's proper prefix never parses, so a tail that parses is a whole record.
    try:
        msgspec.json.decode(line)
    except msgspec.DecodeError:
        return False
    return True


def _row(key: BucketKey, bucket: _Bucket) -> UsageRow:
    day, source, model, project = key
    t = bucket.tokens
    return UsageRow(
        day=day,
        source=source,
        model=model,
        project=project,
        input_tokens=t.input,
        cache_creation_tokens=t.cache_creation,
        cache_read_tokens=t.cache_read,
        output_tokens=t.output,
        reasoning_tokens=t.reasoning,
        total_tokens=t.total,
        requests=bucket.requests,
        cost_usd=cost_usd(
            model,
            input_tokens=t.input,
            output_tokens=t.output,
            cache_creation_tokens=t.cache_creation,
            cache_read_tokens=t.cache_read,
            cache_creation_1h_tokens=t.cache_creation_1h,
        ),
        cache_creation_1h_tokens=t.cache_creation_1h,
    )
