"""Fakes and an in-process daemon for tests: fixed clock, sequential ids, recording executor,
memory event bus, a daemon wired on a temporary SQLite."""
