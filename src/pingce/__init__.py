"""pingce (评测): unified, standards-based evaluation of AI models and AI systems."""

__version__ = "0.1.0"
