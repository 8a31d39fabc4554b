"""The ``facscope`` command line: thin wrappers that parse flags and call library functions."""
