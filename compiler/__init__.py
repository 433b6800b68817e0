"""AST -> IR -> nn.Module: lowering, verification passes, shape inference, module builders, derivation."""
