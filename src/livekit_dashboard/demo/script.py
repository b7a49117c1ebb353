"""What is said on a demo call: a caller with a reason to call, the caller's lines turn by turn, the
agent's replies to them and the tools a reply calls (with their arguments and results).

Each call's details (who calls, which order, booking or account, which day) come from its index, so a
phrase a caller said (an order number, a booking reference) finds that call in the search box, and the
choice takes no random draw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Conversation", "Line", "conversation"]

_NAMES = ("Maya Chen", "Omar Haddad", "Lena Fischer", "Diego Ramos", "Aisha Bello", "Tom Walsh", "Priya Nair")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
_TIMES = ("9:30", "11:00", "14:15", "16:45")


@dataclass(frozen=True, slots=True)
class Line:
    """One exchange: what the caller says, what the agent answers, and the tool the answer calls."""

    user: str
    agent: str
    tool: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)

    def tool_attributes(self) -> dict[str, str]:
        """The tool call's content, as livekit-agents records it on a function_tool span (the GenAI
        result only when the tool succeeded: drop it on an error)."""
        arguments = json.dumps(self.arguments, separators=(",", ":"))
        output = json.dumps(self.output, separators=(",", ":"))
        return {
            "gen_ai.tool.call.arguments": arguments,
            "gen_ai.tool.call.result": output,
            "lk.pii.function_tool.arguments": arguments,
            "lk.pii.function_tool.output": output,
        }


@dataclass(frozen=True, slots=True)
class Conversation:
    caller: str
    email: str  # "" for an anonymous caller (the call list shows no user)
    lines: tuple[Line, ...]
    topic: str  # the call's topic tag (topic:<topic>)
    done: str  # the outcome's reason when the call succeeds
    failed: str  # and when it fails

    def line(self, turn: int, turns: int) -> Line:
        """The exchange of a turn: the script in order, the caller saying goodbye on the last turn of a
        longer call, a follow-up in between."""
        if turn < len(self.lines):
            return self.lines[turn]
        if turn == turns - 1:
            return Line("Thanks, that's all for today.", f"You're welcome, {self.caller.split()[0]}. Have a great day!")
        return _FOLLOW_UPS[turn % len(_FOLLOW_UPS)]


_FOLLOW_UPS = (
    Line("Sorry, could you repeat that?", "Of course. Let me go over it again."),
    Line("And will I get that in writing?", "Yes, you'll get an email with all the details."),
    Line("Hold on, let me grab a pen.", "Take your time, I'm here."),
)


def conversation(index: int) -> Conversation:
    """The conversation of the demo's call number `index`."""
    caller = _NAMES[index % len(_NAMES)]
    email = "" if index % 6 == 5 else f"{caller.split()[0].lower()}.{index:05d}@example.com"
    order = f"{40000 + (index * 7919) % 60000}"
    booking = f"BK-{(index * 104729) % 900000 + 100000}"
    account = f"{(index * 31337) % 9000000 + 1000000}"
    day, time = _DAYS[(index // 4) % len(_DAYS)], _TIMES[index % len(_TIMES)]
    first = caller.split()[0]
    scripts = (
        Conversation(
            caller,
            email,
            topic="order",
            done="order status given",
            failed="could not find the order",
            lines=(
                Line(
                    f"Hi, this is {first}. I'd like to check on order {order}.",
                    f"Order {order} shipped with UPS and should arrive on {day}.",
                    "lookup_order",
                    {"order_id": order},
                    {"order_id": order, "status": "shipped", "carrier": "UPS", "eta": day},
                ),
                Line("Around what time?", "UPS delivers between 9 and 6, and you'll get a text when it's close."),
                Line("Can you send me the tracking link?", "Done, the tracking link is on its way to your email."),
            ),
        ),
        Conversation(
            caller,
            email,
            topic="booking",
            done="appointment moved",
            failed="no free slot that suits the caller",
            lines=(
                Line(
                    f"Hi, it's {first}. Can you move my appointment {booking} to {day} at {time}?",
                    f"Good news, {day} at {time} is free. Shall I book it?",
                    "check_availability",
                    {"day": day, "time": time},
                    {"day": day, "time": time, "available": True},
                ),
                Line(
                    "Great, please book it.",
                    f"You're booked for {day} at {time}, still under {booking}.",
                    "book_slot",
                    {"day": day, "time": time, "caller": caller},
                    {"booking": booking, "confirmed": True},
                ),
                Line("Will I get a reminder?", "Yes, we send a reminder the day before."),
            ),
        ),
        Conversation(
            caller,
            email,
            topic="billing",
            done="answered the pricing question",
            failed="caller asked for a human",
            lines=(
                Line(
                    f"Hello, {first} here, account {account}. What's the price of the premium plan?",
                    "The premium plan is 49 dollars a month.",
                ),
                Line("Is there a discount if I pay yearly?", "Yes, paying yearly gives you two months free."),
                Line("Okay, I'll think about it.", "Sure. You can upgrade any time from your account page."),
            ),
        ),
        Conversation(
            caller,
            email,
            topic="support",
            done="confirmation resent",
            failed="caller hung up frustrated",
            lines=(
                Line(
                    f"Hi, I'm {first}. I never got the confirmation email for booking {booking}.",
                    f"I've resent the confirmation for booking {booking} to your email.",
                    "send_email",
                    {"template": "confirmation", "booking": booking},
                    {"sent": True, "booking": booking},
                ),
                Line("It might be in my spam folder.", "That happens. It comes from bookings at example dot com."),
            ),
        ),
    )
    return scripts[(index // len(_NAMES)) % len(scripts)]
