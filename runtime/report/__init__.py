"""`geno report`: pages and figures from run and study directories."""
