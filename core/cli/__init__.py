"""``bundle-console`` subcommands: thin clients of the console holding the data dir.

Each verb group is one module with ``register(subparsers)`` listed in
:data:`core.cli.main.VERB_MODULES`; adding a verb is a function in one of them
(or a new module and one line in that list). Nothing on this path imports Qt or
the ``mcp`` SDK (checked by an import-linter contract and by a test).
"""
