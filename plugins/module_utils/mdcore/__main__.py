"""`python3 -m mdcore` is the `mdfleet` host command."""

import sys

from .cli import main

sys.exit(main())
