"""Swedish narrative (placeholder)."""
