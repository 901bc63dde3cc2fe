"""The core `pingce` commands, one module per job; `pingce.cli` assembles them."""
