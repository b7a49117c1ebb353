"""Demo: realistic LiveKit voice-agent telemetry sent through the real OpenTelemetry SDK exporters."""

from livekit_dashboard.demo.generator import DemoConfig, DemoSummary, generate

__all__ = ["DemoConfig", "DemoSummary", "generate"]
