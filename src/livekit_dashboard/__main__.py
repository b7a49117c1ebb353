"""Entry point for ``python -m livekit_dashboard``."""

from livekit_dashboard.cli import main

main()
