"""`python -m chatd` runs the `chatd` command."""

from chatd.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
