"""``python -m gateway.cli``: the same command line as ``stopgate``."""

import sys

from gateway.cli.main import main

sys.exit(main())
