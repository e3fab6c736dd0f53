"""Sensitive ``user_config`` values at rest in the OS keyring, the 0600 file as fallback.

``choice`` decides which store a data dir uses (the administrator's choice, the
environment, what is available); ``vault`` talks to the keyring through the
``keyring`` library, always on its own worker thread and with a timeout, so a
locked or unresponsive keyring never blocks the event loop; ``markers`` is how a
credentials file says "this key lives in the keyring" without holding its value.
"""

from core.secrets.choice import SECRETS_ENV, SecretsStatus
from core.secrets.markers import is_marker, marker
from core.secrets.vault import KeyringUnavailable, KeyringVault

__all__ = [
    "SECRETS_ENV",
    "KeyringUnavailable",
    "KeyringVault",
    "SecretsStatus",
    "is_marker",
    "marker",
]
