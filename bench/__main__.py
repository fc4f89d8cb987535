"""`python -m bench`: the one-table report (bench/report.py)."""

import sys

from bench.report import main

sys.exit(main())
