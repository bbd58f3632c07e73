"""`python -m policykb …` runs the command line, as the `policykb` script does (used by the benchmark
to run commands under cProfile)."""

import sys

from .cli import main

sys.exit(main())
