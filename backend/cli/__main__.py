"""`python -m backend.cli`: the `calcapp` command."""

import sys

from backend.cli import main

sys.exit(main())
