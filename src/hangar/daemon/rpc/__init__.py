"""The daemon's RPC: one module per noun, each a route table over the services it needs;
``server`` is the socket transport that dispatches through the merged table."""
