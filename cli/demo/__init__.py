"""A synthetic year of training and certification (``registry demo``).

:mod:`cli.demo.plan` builds the year as plain values, deterministically from a seed and
the catalogue it is given (no database); :mod:`cli.demo.run` carries the plan out
through the same services real data goes through (institutions, cohorts, roster files,
certificates) and reports what the database then holds.
"""
