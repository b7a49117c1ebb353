"""Catalog: the services, models and providers the demo's voice agents use."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LLMS", "REALTIME", "SERVICES", "STTS", "TTSS", "Model", "Service"]


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    version: str
    language: str
    agent_name: str
    agent_label: str
    realtime_share: float


@dataclass(frozen=True, slots=True)
class Model:
    provider: str  # as livekit-agents puts it on spans (normalized for LLMs, raw for TTS/STT)
    raw_provider: str  # as plugins report it on lk.agents.usage.* metrics
    name: str
    ttft_s: float  # typical time to first token / byte
    tokens_per_s: float = 60.0


SERVICES = (
    Service("support-agent", "1.14.2", "python", "support", "SupportAgent", 0.15),
    Service("sales-agent", "0.9.0", "python", "sales", "SalesAgent", 0.35),
    Service("booking-agent", "2.3.1", "python", "booking", "BookingAgent", 0.0),
    Service("outbound-caller", "0.4.7", "nodejs", "outbound", "OutboundCaller", 0.0),
)
LLMS = (
    Model("openai", "api.openai.com", "gpt-4o-mini", 0.35, 90),
    Model("openai", "api.openai.com", "gpt-4.1", 0.55, 55),
    Model("gcp.gemini", "gemini", "gemini-2.5-flash", 0.40, 120),
    Model("anthropic", "anthropic", "claude-haiku-4-5", 0.50, 80),
)
REALTIME = (
    Model("openai", "api.openai.com", "gpt-realtime", 0.45),
    Model("gcp.gemini", "gemini", "gemini-2.5-flash-native-audio-preview-09-2025", 0.50),
)
STTS = (
    Model("deepgram", "deepgram", "nova-3", 0.18),
    Model("assemblyai", "assemblyai", "universal-streaming-english", 0.22),
)
TTSS = (
    Model("cartesia", "cartesia", "sonic-2", 0.12),
    Model("elevenlabs", "elevenlabs", "eleven_flash_v2_5", 0.20),
)
