"""The console as a local service: control socket, its protocol, headless ``serve``.

Whichever console holds a data dir (the GUI or ``bundle-console serve``) listens
on ``<data>/service/control.sock``; the CLI (:mod:`core.cli`) is its client.
Nothing here imports Qt or the ``mcp`` SDK at import time.
"""
