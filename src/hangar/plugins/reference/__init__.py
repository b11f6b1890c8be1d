"""Logic of the three reference plugins, kept importable so tests and mypy see it.

The executables under ``plugins/<id>/`` are thin: they wire these modules to the SDK.

- session-reader (pure publisher): ``transcripts`` parses Claude Code and Codex session
  lines, ``usage_scan`` rescans the files incrementally, ``pricing`` prices tokens, and
  ``usage_data`` is the payload of topic ``sessions.usage_data``.
- burndown (screen owner): ``usage_views`` groups that payload, ``usage_cli`` is
  ``ainb usage``, ``analytics_screen`` is the Analytics screen.
- witr (subprocess wrapper): ``witr_cli`` runs ``witr --json`` and formats its answer.
"""
