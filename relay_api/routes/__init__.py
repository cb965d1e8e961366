"""One router per resource: task args, results, task status, nodes, stats, managed tasks,
and the operational endpoints."""
