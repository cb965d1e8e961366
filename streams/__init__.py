"""faust processors: the task and node state machines, projections, the deadline keeper."""
