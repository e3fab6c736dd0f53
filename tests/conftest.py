"""Suite-wide: no test reaches an OS keyring unless it asks for one.

The secrets store is an explicit choice (core.secrets.choice); set here at
import, it also reaches every console a test starts as a subprocess. The
keyring tests (tests/core/test_keyring.py) switch it to "keyring" on a private
Secret Service of their own.
"""

import os

from core.secrets.choice import SECRETS_ENV

os.environ[SECRETS_ENV] = "file"

# A fixture bundle's vendored dependencies (server/lib) ship their own tests: not ours.
collect_ignore_glob = ["fixtures/bundles/*/server/lib/*"]
