"""The autopilot scheduler: one daemon task that fires due autopilots (docs/autopilots.md)."""
