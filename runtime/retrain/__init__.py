"""Retraining a discrete network."""
