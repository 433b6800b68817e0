"""The genotype, the search<->evaluation contract: derive, hash, diff, sample, to text and JSON and back."""

# raise_ installs the .geno printer behind str(genotype) (compiler/lower/ir/genotypes.py), so that
# any use of this floor gives genotypes their text
from genolang.compiler.genotype import raise_ as _raise_  # noqa: F401
