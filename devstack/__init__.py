"""Local development stack: embedded MongoDB (mongoeco) and Redis, started by the project."""

# uvicorn's --ws-max-size here and in the Dockerfile (tests/security checks they agree): a bigger
# WebSocket message closes the socket with 1009 before it is buffered. Clients send ~40-byte
# messages; the consumers answer anything over 4 KB with an error (orders/consumers.py).
WS_MAX_SIZE_BYTES = 65_536
