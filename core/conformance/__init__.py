"""How a manifest compares with the official MCPB schema, in words an author can act on.

The host refuses only what it cannot run (see ``core.manifest``); everything
else the official validator rejects becomes a warning from :func:`problems`,
checked with ``jsonschema`` against the official JSON Schemas in ``schemas/``.
"""

from core.conformance.check import problems

__all__ = ["problems"]
