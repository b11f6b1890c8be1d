"""Running tasks: the claim loop, one runner per claimed task, and the safety loops."""
