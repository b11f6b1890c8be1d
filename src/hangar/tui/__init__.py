"""The terminal UI (Textual): the ``ainb`` home, the Hangar screens, plugin screens.

A pure client of the daemon: it subscribes to the workspace, pulls snapshots, folds
events, renders, and sends what the user asks for as RPCs. No domain rule lives here; a
dropped event heals on the next snapshot. ``ainb serve`` runs this same app per browser tab.
"""
