"""A real, private Secret Service for tests: its own session bus and gnome-keyring.

``dbus-daemon`` runs with a config of its own that has no service directories,
so nothing is D-Bus-activated behind the test's back (a killed keyring stays
gone, as on a desktop whose keyring crashed). ``gnome-keyring-daemon`` is
unlocked with a test password, its keyrings in a temp HOME. Only the two
processes started here are ever stopped, by pid.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

PASSWORD = b"test-keyring-password"

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def available() -> str | None:
    """Why a Secret Service cannot be started here (None when it can)."""
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (make install adds it)"
    return None


class SecretService:
    def __init__(self) -> None:
        # Short: the bus socket path must fit in 107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="bc-ss-", dir="/tmp"))
        self.address = ""
        self.bus_pid: int | None = None
        self.keyring: subprocess.Popen[bytes] | None = None

    def start(self) -> SecretService:
        config = self.root / "bus.conf"
        config.write_text(_BUS_CONFIG.format(dir=self.root))
        out = (
            subprocess.run(
                [
                    "dbus-daemon",
                    f"--config-file={config}",
                    "--fork",
                    "--print-address=1",
                    "--print-pid=1",
                ],
                capture_output=True,
                check=True,
                timeout=30,
            )
            .stdout.decode()
            .split()
        )
        self.address, self.bus_pid = out[0], int(out[1])
        self.start_keyring()
        return self

    def start_keyring(self) -> None:
        """(Re)start gnome-keyring on the bus, unlocked (same keyring files as before)."""
        home = self.root / "home"
        runtime = self.root / "run"
        for d in (home, runtime):
            d.mkdir(mode=0o700, exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_RUNTIME_DIR": str(runtime),
            "DBUS_SESSION_BUS_ADDRESS": self.address,
        }
        self.keyring = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert self.keyring.stdin is not None
        self.keyring.stdin.write(PASSWORD)
        self.keyring.stdin.close()
        self._wait_for_service()

    def _wait_for_service(self) -> None:
        """Until the daemon owns org.freedesktop.secrets and its default collection exists."""
        deadline = time.monotonic() + 30
        while True:
            try:
                with self.connection() as conn:
                    import secretstorage

                    secretstorage.get_default_collection(conn).get_label()
                    return
            except Exception:
                if time.monotonic() > deadline or self.keyring is None or self.keyring.poll():
                    raise
                time.sleep(0.05)

    def connection(self):  # type: ignore[no-untyped-def]
        """A jeepney connection to this bus (as secretstorage uses it)."""
        from jeepney.io.blocking import open_dbus_connection

        return open_dbus_connection(bus=self.address)

    def items(self, service: str) -> dict[str, str]:
        """Every item of a keyring service: name -> secret (read by the test, not the console)."""
        import secretstorage

        with self.connection() as conn:
            collection = secretstorage.get_default_collection(conn)
            return {
                item.get_attributes()["username"]: item.get_secret().decode()
                for item in collection.search_items({"service": service})
            }

    def lock(self) -> None:
        import secretstorage

        with self.connection() as conn:
            secretstorage.get_default_collection(conn).lock()

    def stop_keyring(self) -> None:
        if self.keyring is not None and self.keyring.poll() is None:
            self.keyring.terminate()
            try:
                self.keyring.wait(10)
            except subprocess.TimeoutExpired:
                self.keyring.kill()
                self.keyring.wait(10)
        self.keyring = None

    def stop(self) -> None:
        self.stop_keyring()
        if self.bus_pid is not None:
            try:
                os.kill(self.bus_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.bus_pid = None
        shutil.rmtree(self.root, ignore_errors=True)
