"""Training performance: digits CNN throughput, time to accuracy, multi-worker scaling."""
