"""Public notices (公示) and the working-day calendar they run on (DESIGN.md section 6).

- :mod:`registry.notices.rules`: working days and a notice's days, from plain facts (pure);
- :mod:`registry.notices.calendar_file`: the bureau's calendar file (CSV or YAML) and the
  package seed, parsed and validated (pure);
- :mod:`registry.notices.queries`: the calendar's SQL;
- :mod:`registry.notices.calendar`: the use cases (load a year, seed, a notice's period).
"""
