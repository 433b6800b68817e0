"""The ground floor: errors, limits and threads, imported by every stage, importing none."""
