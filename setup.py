"""Computes the package list: the stage folders live at the top level but install as genolang.*."""
from setuptools import find_packages, setup

STAGES = ("grammar", "compiler", "runtime")
packages = ["genolang"] + [f"genolang.{p}" for p in find_packages("src/genolang")]
for stage in STAGES:
    packages += [f"genolang.{p}" for p in find_packages(include=[stage, f"{stage}.*"])]
# The standard library of specs is a data folder; listing it as a package ships its files.
packages.append("genolang.compiler.stdlib")
# The spec library (zoo, experiments, quick start) ships from specs/ itself, no copy: the wheel
# holds it as genolang/specs, beside genolang/compiler, where compiler/lower/load.py looks for it.
packages.append("genolang.specs")
package_dir = {"genolang": "src/genolang", "genolang.specs": "specs"}
package_dir.update({f"genolang.{s}": s for s in STAGES})

setup(packages=packages, package_dir=package_dir)
