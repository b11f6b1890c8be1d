#!/bin/sh
# Summarise what is staged and unstaged, and flag files that rarely belong in a commit.
# Usage: staged-summary.sh   (run inside a git work tree)
set -eu

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "not inside a git work tree" >&2
    exit 2
fi

echo "== staged =="
git diff --cached --stat || true
echo
echo "== not staged =="
git diff --stat || true
echo
echo "== untracked =="
git ls-files --others --exclude-standard | head -n 50
echo

echo "== worth a second look (staged) =="
flagged=0
names=$(git diff --cached --name-only)
secrets=$(printf '%s\n' "$names" | grep -iE '(^|/)(\.env[^/]*|[^/]*\.(pem|key|p12|pfx)|id_rsa[^/]*|id_ed25519[^/]*|[^/]*(secret|credential)[^/]*)$' || true)
outputs=$(printf '%s\n' "$names" | grep -E '(^|/)(node_modules|__pycache__|dist|build|target|[^/]*\.egg-info)/|\.pyc$|(^|/)\.DS_Store$' || true)
if [ -n "$secrets" ]; then
    printf '%s\n' "$secrets" | sed 's/^/possible secret: /'
    flagged=1
fi
if [ -n "$outputs" ]; then
    printf '%s\n' "$outputs" | sed 's/^/build or cache output: /'
    flagged=1
fi
if git diff --cached -U0 | grep -nE '^\+.*(BEGIN [A-Z ]*PRIVATE KEY|AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{20,}|xox[bp]-)' >/dev/null; then
    echo "staged lines look like credentials: inspect 'git diff --cached'"
    flagged=1
fi
if [ "$flagged" -eq 0 ]; then
    echo "nothing flagged"
fi
