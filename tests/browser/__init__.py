"""Browser tests: headless Chromium driving the coordinator app (a package, so its
conftest never shadows tests/conftest.py as the module ``conftest``)."""
