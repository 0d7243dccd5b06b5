"""The bureau's workbench (审核工作台): :mod:`api.workbench.pages`."""
