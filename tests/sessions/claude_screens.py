"""Claude Code screens as ``tmux capture-pane -p -J`` shows them (trailing spaces trimmed).

Modelled on Claude Code 1.0.x (boxed composer and dialogs) and 2.0.x (rules, no side
borders). When a release changes a prompt, add its screen here and a case in test_idle.py.
"""

from __future__ import annotations

RULE = "─" * 84

READY_V1 = """\
╭───────────────────────────────────────────────────╮
│ ✻ Welcome to Claude Code!                         │
│                                                   │
│   /help for help, /status for your current setup  │
│                                                   │
│   cwd: /work/wt/feat-a                            │
╰───────────────────────────────────────────────────╯

 Tips for getting started:

 1. Run /init to create a CLAUDE.md file with instructions for Claude
 2. Use Claude to help with file analysis, editing, bash commands and git
 3. Be as specific as you would with another engineer for the best results

╭──────────────────────────────────────────────────────────────────────────────╮
│ > Try "write a test for <filepath>"                                          │
╰──────────────────────────────────────────────────────────────────────────────╯
  ? for shortcuts"""

# a finished turn whose last words look like a question: it is idle, not waiting
DONE_V2 = f"""\
 ▐▛███▜▌   Claude Code v2.0.14
▝▜█████▛▘  Sonnet 4.5 · Claude Max
  ▘▘ ▝▝    /work/wt/feat-a

> fix the failing test in tests/test_parser.py

● I'll look at the failing test first.

● Read(tests/test_parser.py)
  ⎿  Read 42 lines

● Update(src/parser.py)
  ⎿  Updated src/parser.py with 1 addition and 1 removal

● The test passes now. Would you like to also add a regression test? Do you want to proceed?

{RULE}
\u276f
{RULE}
  ? for shortcuts"""

BUSY_V2 = f"""\
● Bash(npm test)
  ⎿  Running…

✻ Compiling… (12s · ↑ 1.2k tokens · esc to interrupt)

{RULE}
>
{RULE}
  ⏵⏵ accept edits on (shift+tab to cycle)"""

STARTING = """\
 ▐▛███▜▌   Claude Code v2.0.14
▝▜█████▛▘  Sonnet 4.5 · Claude Max
  ▘▘ ▝▝    /work/wt/feat-a"""

BASH_PERMISSION_V2 = f"""\
● Bash(rm -rf build && npm run build)
  ⎿  Running…

{RULE}
 Bash command

   rm -rf build && npm run build
   Clean and rebuild the project

 Do you want to proceed?
 \u276f 1. Yes
   2. Yes, and don't ask again for npm run build commands in /work/wt/feat-a
   3. No, and tell Claude what to do differently (esc)"""

EDIT_PERMISSION_V1 = """\
╭──────────────────────────────────────────────────────────────────────╮
│ Edit file                                                            │
│ ╭──────────────────────────────────────────────────────────────────╮ │
│ │ src/parser.py                                                    │ │
│ │                                                                  │ │
│ │ 12    def parse(text):                                           │ │
│ │ 13 -      return text.split(",")                                 │ │
│ │ 13 +      return [p.strip() for p in text.split(",")]            │ │
│ ╰──────────────────────────────────────────────────────────────────╯ │
│ Do you want to make this edit to parser.py?                          │
│ \u276f 1. Yes                                                             │
│   2. Yes, and don't ask again this session (shift+tab)               │
│   3. No, and tell Claude what to do differently (esc)                │
│                                                                      │
╰──────────────────────────────────────────────────────────────────────╯"""

CREATE_PERMISSION_V2 = f"""\
{RULE}
 Create file
 notes/plan.md
 1 # Plan
 2 - parse
 3 - test

 Do you want to create plan.md?
 \u276f 1. Yes
   2. Yes, allow all edits during this session (shift+tab)
   3. No, and tell Claude what to do differently (esc)"""

TRUST_V1 = """\
╭──────────────────────────────────────────────────────────────────────────────╮
│                                                                              │
│ Do you trust the files in this folder?                                       │
│                                                                              │
│ /work/wt/feat-a                                                              │
│                                                                              │
│ Claude Code may read files in this folder. Reading untrusted files may lead  │
│ Claude Code to behave in unexpected ways.                                    │
│                                                                              │
│ https://docs.anthropic.com/s/claude-code-security                            │
│                                                                              │
│ \u276f 1. Yes, proceed                                                            │
│   2. No, exit                                                                │
│                                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯
   Enter to confirm · Esc to exit"""

TRUST_V2 = f"""\
{RULE}
 Accessing workspace:

 /work/wt/feat-a

 Quick safety check: Is this a project you created or one you trust? (Like your own
 code, a well-known open source project, or work from your team). If not, take a
 moment to review what's in this folder first.

 Claude Code'll be able to read, edit, and execute files here.

 \u276f 1. Yes, I trust this folder
   2. No, exit

 Enter to confirm · Esc to cancel"""

BYPASS_WARNING = """\
╭──────────────────────────────────────────────────────────────────────────────╮
│                                                                              │
│ WARNING: Claude Code running in Bypass Permissions mode                      │
│                                                                              │
│ In Bypass Permissions mode, Claude Code will not ask for your approval       │
│ before running potentially dangerous commands.                               │
│                                                                              │
│ \u276f 1. No, exit                                                                │
│   2. Yes, I accept                                                           │
│                                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯"""

ASK_USER_QUESTION = f"""\
● I need a decision before I change the schema.

{RULE}
 ☐ Migration

 How should existing rows be migrated?

 \u276f 1. Backfill in place
      Rewrite every row in one transaction
   2. Add a nullable column
      Fill it lazily on read
   3. Type something.

 Enter to select · ↑/↓ to navigate · Esc to cancel"""

# a menu whose wording no marker knows: caught by its shape alone
UNKNOWN_MENU = """\
 Select model
 \u276f 1. Default (recommended)
   2. Opus
   3. Haiku"""

WAITING_SCREENS = {
    "bash permission": BASH_PERMISSION_V2,
    "edit permission": EDIT_PERMISSION_V1,
    "create permission": CREATE_PERMISSION_V2,
    "trust v1": TRUST_V1,
    "trust v2": TRUST_V2,
    "bypass warning": BYPASS_WARNING,
    "ask user question": ASK_USER_QUESTION,
    "unknown menu": UNKNOWN_MENU,
}
