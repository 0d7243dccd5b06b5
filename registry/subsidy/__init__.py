"""Subsidies: the policy documents, the pure rule that computes a person's lines, the calculator."""
