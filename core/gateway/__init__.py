"""The workspace gateway: every workspace is one MCP server for AI clients.

``server`` (inside the console that holds the data dir) listens on
``<data>/service/gateway.sock`` and serves each workspace as the union of its
running bundles; ``relay`` is ``bundle-console connect``, the thin stdio
bridge a client launches. This package's ``__init__`` imports nothing so the
relay stays off the MCP SDK (import-linter checks it).
"""
