"""The OS at arm's length: processes, /proc, commands, git, private files.

Each module is one small seam over one concern, importing only ``hangar.core`` and the
stdlib, so the daemon, the plugin runtime and the client share one copy of the OS code.
Nothing is imported here: a client that needs ``procfs`` does not pay for asyncio.
"""
