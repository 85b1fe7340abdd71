"""The authentication benchmark (``make bench``, see ``docs/performance.rst``)."""
