"""Training: ICDARTS search, retraining, data, metrics, checkpoints."""
