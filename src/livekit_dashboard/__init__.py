"""livekit-dashboard: self-hosted observability for LiveKit voice agents."""

__all__ = ["__version__"]
__version__ = "0.1.0"
