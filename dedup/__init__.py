"""Global deduplication (URL, exact, MinHash LSH, line-level): see issue 3."""
