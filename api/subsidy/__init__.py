"""Subsidy endpoints: the policies and the calculator."""
