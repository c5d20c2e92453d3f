"""`python3 -m mdcore` is the `mdfleet` host command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
