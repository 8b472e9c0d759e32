"""`python -m facilitation <command>` (retention, backup, restore, ...): see edges/cli.py."""

from facilitation.edges.cli import main

main()
