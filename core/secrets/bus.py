"""Where the session bus (and so the Secret Service) can be reached from a process.

A confined bundle must not talk to the Secret Service: the sandbox masks these
sockets. D-Bus addresses are ``;``-separated ``transport:key=value,...`` lists;
``unix:path=`` is a file a mount can hide, ``unix:dir=``/``unix:tmpdir=`` name
a listening *server* (not a client address), ``unix:abstract=`` lives in the
network namespace (only a private network namespace hides it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import unquote


def session_bus_sockets(env: Mapping[str, str] | None = None) -> tuple[list[str], bool]:
    """``(socket files of the session bus, whether an abstract socket is in use)``.

    Includes the systemd default ``$XDG_RUNTIME_DIR/bus`` when it exists, since a
    bundle can find it without being told the address.
    """
    env = os.environ if env is None else env
    paths: list[str] = []
    abstract = False
    for entry in env.get("DBUS_SESSION_BUS_ADDRESS", "").split(";"):
        transport, _, params = entry.partition(":")
        if transport != "unix":
            continue
        for pair in params.split(","):
            key, _, value = pair.partition("=")
            if key == "path" and value:
                paths.append(unquote(value))
            elif key == "abstract":
                abstract = True
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and os.path.exists(os.path.join(runtime, "bus")):
        paths.append(os.path.join(runtime, "bus"))
    return list(dict.fromkeys(paths)), abstract
