"""What a run leaves behind: run directory, checkpoints, metrics, progress."""
