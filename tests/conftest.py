"""Suite-wide: no test reaches an OS keyring unless it asks for one.

The secrets store is an explicit choice (core.secrets.choice); set here at
import, it also reaches every console a test starts as a subprocess. The
keyring tests (tests/core/test_keyring.py) switch it to "keyring" on a private
Secret Service of their own.
"""

import os

from core.secrets.choice import SECRETS_ENV

os.environ[SECRETS_ENV] = "file"


def pytest_sessionstart(session: object) -> None:
    """Vendor the python bundles' server/lib when this clone skipped ``make install``."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "resources" / "bundles" / "vendor.py"
    spec = importlib.util.spec_from_file_location("bundle_vendor", path)
    assert spec is not None and spec.loader is not None
    vendor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vendor)
    if vendor.missing():
        try:
            vendor.main([])
        except Exception as exc:  # offline, no pip cache: the demo bundles' tests say why
            print(f"\nvendoring the python bundles' server/lib failed: {exc}")


# A fixture bundle's vendored dependencies (server/lib) ship their own tests: not ours.
collect_ignore_glob = ["fixtures/bundles/*/server/lib/*"]
