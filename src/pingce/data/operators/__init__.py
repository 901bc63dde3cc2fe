"""Data operators; `pingce.data.operators.builtin` registers the built-in ones by name."""
