"""IO-free domain: ids, clocks, the task FSM, failure reasons, policies, parsers."""
