"""The data-quality evaluation model: per-document measurements and their roll-up."""
