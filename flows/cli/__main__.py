"""`python -m flows.cli`: the `newsdesk` command line."""

import sys

from flows.cli import main

sys.exit(main())
