"""A tiny spec program for the CLI run tests: micro cells, a 3-cell digits network with one
distill head, a skip-connection macro (version 1) and a micro genotype. Each test adds its
own experiment block."""

MACRO_PROGRAM = """use "spaces.geno"

cell normal {
  nodes 2
  edges from darts
  select darts top 2
}
cell reduce like normal {
  reduction
}

network tiny {
  input 1x16x16
  classes 10
  channels 4
  stem conv(k=3, out=3 * C) >> bn
  cells 3 reduce at 1
  heads distill after 1
}

macro skips version 1 {
  template tiny
  depth 3
}

genotype micro {
  space darts
  cell normal {
    n0 = sep_conv_3(c0) + skip(c1)
    n1 = max_pool_3(n0) + skip(c0)
  }
  cell reduce {
    reduction
    n0 = max_pool_3(c0) + sep_conv_3(c1)
    n1 = skip(n0) + avg_pool_3(c1)
  }
}

"""
