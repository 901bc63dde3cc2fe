"""Large-model task types: multiple choice, generative, perplexity."""
