"""``python -m stepline``: the same command as ``stepline`` (git hooks call it this way)."""

import sys

from stepline.cli import main

sys.exit(main())
