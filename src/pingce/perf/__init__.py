"""AI server system performance testing (GB/T 45087-2024): inference scenarios, LLM-serving
load, training throughput, energy."""
