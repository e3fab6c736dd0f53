"""``python -m gui`` runs the console (same as the ``bundle-console`` command)."""

import sys

from gui.app import main

sys.exit(main())
