"""The genotype, the search<->evaluation contract: derive, hash, diff, sample, to text and JSON and back."""
