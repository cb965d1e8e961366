"""Pure task and node state machines: no faust, no I/O, no clock, no randomness."""
