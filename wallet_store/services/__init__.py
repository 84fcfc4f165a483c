"""Application services: load the state a command needs, decide with the engine, persist."""
