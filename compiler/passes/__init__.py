"""Passes over the lowered program: verification, shapes, data kinds and the cost model."""
