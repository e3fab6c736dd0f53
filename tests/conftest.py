"""Suite-wide: no test reaches an OS keyring unless it asks for one.

The secrets store is an explicit choice (core.secrets.choice); set here at
import, it also reaches every console a test starts as a subprocess. The
keyring tests (tests/core/test_keyring.py) switch it to "keyring" on a private
Secret Service of their own.

The suite runs in parallel (``make test``: pytest-xdist, see PYTEST_ARGS in the
Makefile): a test owns its tmp dirs, tags its processes (tests/procs.py) and
never kills or counts processes it did not start.
"""

import os

import pytest

from core.secrets.choice import SECRETS_ENV

os.environ[SECRETS_ENV] = "file"


def pytest_sessionstart(session: object) -> None:
    """Vendor the python bundles' server/lib when this clone skipped ``make install``.

    Once, in the controller: it runs before xdist starts its workers, which
    would otherwise all vendor into the same folders at once.
    """
    if hasattr(getattr(session, "config", None), "workerinput"):
        return
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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``pytest -n N --dist loadgroup`` keep a module's tests on one worker when
    they share a module- or class-scoped fixture of that module (a running console,
    a private Secret Service, a system user): otherwise each worker would start its
    own copy, and two copies may race (``useradd`` of one name). Runs before
    xdist's own hook, which turns the mark into the scheduling group.
    """
    for item in items:
        if any(item.iter_markers("xdist_group")):
            continue
        module = item.nodeid.split("::", 1)[0]
        info = getattr(item, "_fixtureinfo", None)
        for defs in info.name2fixturedefs.values() if info is not None else ():
            fixture = defs[-1]
            if fixture.scope in ("module", "class") and fixture.baseid.startswith(module):
                item.add_marker(pytest.mark.xdist_group(module))
                break
