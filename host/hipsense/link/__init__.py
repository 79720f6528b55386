"""The link to the board: wire protocol, transports (BLE, USB serial), the session, the board ->
host clock map and sample blocks as arrays. Imports only the package root and conventions."""
