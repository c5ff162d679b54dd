"""`python -m cli` runs the same `roost` command (useful where scripts are not on PATH)."""

from cli.main import main

main()
