"""`python -m facilitation retention`: see facilitation/edges/cli.py."""

from facilitation.edges.cli import main

main()
