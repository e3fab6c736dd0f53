"""``python -m core.cli ...`` is ``bundle-console ...``."""

import sys

from core.cli.main import main

sys.exit(main())
