"""The search loop and its parts: steps, losses, precision, latency, the network seam."""
