"""Use cases: load the state a command needs, ask the pure domain, persist what it decided."""
