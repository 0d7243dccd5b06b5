"""What every web page shares (DESIGN.md section 13): the headers and the Content-Security-
Policy, the same-origin check of forms, the Jinja2 templates and their filters. The browser
session itself is :mod:`api.dashboard.session` (one session for every page)."""
