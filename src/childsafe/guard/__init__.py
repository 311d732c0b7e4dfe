"""The in-process guard: screen the prompt, generate, screen the output, or block."""
