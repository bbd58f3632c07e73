"""`python -m policykb …` runs the command line, like the `policykb` script."""

import sys

from .cli import main

sys.exit(main())
