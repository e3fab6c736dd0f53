"""Connecting AI clients to a workspace: the config each client needs, and merging it in.

Qt-free so the GUI's "Connect a client…" dialog and any script produce the
same text. Nothing here starts a process or talks to the console.
"""

from core.clients.merge import MergePlan, apply_merge, plan_merge
from core.clients.snippets import CLIENTS, ClientKind, Snippet, connect_command, snippets

__all__ = [
    "CLIENTS",
    "ClientKind",
    "MergePlan",
    "Snippet",
    "apply_merge",
    "connect_command",
    "plan_merge",
    "snippets",
]
