"""``python -m cli``: the same as the ``patrol`` command."""

import sys

from cli import main

sys.exit(main())
