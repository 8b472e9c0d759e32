"""`python -m facilitation <command>` (retention, backup, restore, ...): see facilitation/edges/cli.py."""

from facilitation.edges.cli import main

main()
