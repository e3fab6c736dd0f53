"""The bundle state machine: one enum, one table of legal moves.

Every state change in the engine goes through :func:`check_transition`, so an
illegal move is a bug that raises at the point it happens (supervisord's
``process.py`` keeps its state machine in one place for the same reason).
"""

from __future__ import annotations

from enum import StrEnum


class BundleState(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    CRASHED = "crashed"
    DEAD = "dead"


S = BundleState

#: Legal transitions, ``from -> {to, ...}``.
TRANSITIONS: dict[BundleState, frozenset[BundleState]] = {
    # start / a launch that cannot even be built (bad manifest, missing runtime).
    # A start refused for missing setup stays stopped: that is not a transition.
    S.STOPPED: frozenset({S.STARTING, S.DEAD}),
    # handshake done / handshake failed / stop requested / died during handshake (retry)
    S.STARTING: frozenset({S.RUNNING, S.DEAD, S.STOPPING, S.CRASHED}),
    # stop or respawn requested / unexpected exit
    S.RUNNING: frozenset({S.STOPPING, S.CRASHED}),
    # process gone (stop or respawn) / stop gave up on the process
    S.STOPPING: frozenset({S.STOPPED, S.DEAD}),
    # backoff elapsed / retry budget spent / stop or respawn during backoff
    S.CRASHED: frozenset({S.STARTING, S.DEAD, S.STOPPED}),
    # explicit start or restart / stop acknowledges it
    S.DEAD: frozenset({S.STARTING, S.STOPPED}),
}


class IllegalTransition(RuntimeError):
    """Raised when code asks for a move the table does not allow: always a bug."""


def check_transition(previous: BundleState, new: BundleState) -> None:
    if new not in TRANSITIONS[previous]:
        raise IllegalTransition(f"illegal bundle state transition {previous} -> {new}")
