"""``python -m groove_adapter.cli``."""

import sys

from groove_adapter.cli import main

sys.exit(main())
