"""Orchestration: the driver, studies, tournaments, macro search and the engines that run work."""
