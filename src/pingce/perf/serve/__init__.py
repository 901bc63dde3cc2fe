"""LLM-serving load test against an OpenAI-compatible streaming endpoint."""
