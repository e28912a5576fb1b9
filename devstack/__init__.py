"""Local development stack: embedded MongoDB (mongoeco) and Redis, started by the project."""
