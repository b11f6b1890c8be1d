"""The wire contract: framing, JSON-RPC envelopes, methods, typed params/results, events."""
