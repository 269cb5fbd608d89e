"""Charts: one module per analysis; each function takes data and returns a Figure."""
from .theme import PALETTE, new_figure, set_theme

__all__ = ["PALETTE", "new_figure", "set_theme"]
