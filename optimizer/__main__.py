"""``python -m optimizer`` is the same as ``rechain``."""

from optimizer.cli import main

main()
