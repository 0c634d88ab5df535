"""`python3 -m iscsilab`: the command line (see cli.py)."""
from .cli import main

main()
