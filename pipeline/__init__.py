"""Per-file pipeline: WARC reading, stages, the Ray runner, statistics and reports."""
