"""Confine every bundle process: its own folder, nothing else of the console's.

The mechanism is bubblewrap (``bwrap``, see :mod:`core.sandbox.bwrap`); the
README's "What a bundle can and cannot touch" says what it covers and what not.
"""

from core.sandbox.bwrap import availability, wrap
from core.sandbox.defaults import default_policy, gui_settings_dir, planned_isolation
from core.sandbox.pid_one import PidOne
from core.sandbox.policy import Isolation, Network, SandboxPolicy
from core.sandbox.spawn import Prepared, Spawned, prepare, spawn

__all__ = [
    "Isolation",
    "Network",
    "PidOne",
    "Prepared",
    "SandboxPolicy",
    "Spawned",
    "availability",
    "default_policy",
    "gui_settings_dir",
    "planned_isolation",
    "prepare",
    "spawn",
    "wrap",
]
