"""`python -m facilitation retention`: see facilitation/cli.py."""

from facilitation.cli import main

main()
