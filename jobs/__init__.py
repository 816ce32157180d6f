"""Ray job entry points and cluster configs: ``python -m jobs.run jobs/<name>.yaml``.

- ``jobs.run``: run one job file (inputs, output, run config) locally or on a cluster.
- ``jobs.submit``: submit a job file through the Ray Jobs API (``curate submit`` / ``make submit``).
- ``jobs.cluster``: a real multi-node, token-authenticated Ray cluster on one machine (tests, benchmarks).
- ``jobs.verify``: check that two run outputs are identical.
- ``jobs/cluster.yaml``: the Ray cluster launcher config (``ray up``). See ``jobs/README.md``.
"""
