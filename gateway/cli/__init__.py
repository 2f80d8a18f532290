"""The ``stopgate`` command line."""
