"""Ray job entry points and cluster configs: ``python -m jobs.run jobs/<name>.yaml``."""
