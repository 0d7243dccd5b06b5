"""Targets and progress: ``GET /targets``, ``GET /progress``, ``/progress/breakdown``, ``/progress/trend``."""
