"""The in-process guard: screen the prompt, generate, screen the output, or block.

    from childsafe.guard import Guard
    from childsafe.screening.screener import Screener

    guard = Guard(Screener(), tenant="default")

    @guard.text
    def generate(prompt: str) -> str: ...

    result = generate("a poem about autumn")   # raises Blocked when nothing may be shown

See docs/guard.md.
"""

from childsafe.guard.guard import Guard, Marker
from childsafe.guard.result import Blocked, GuardResult

__all__ = ["Blocked", "Guard", "GuardResult", "Marker"]
