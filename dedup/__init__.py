"""Global deduplication (URL, exact, MinHash LSH, line-level) on Ray: see ``dedup.phase``.

    from dedup import run_dedup, apply, DEFAULTS, validate
    stats = run_dedup(Path("out/sample"), cfg)   # cfg: the `dedup:` section of the run YAML
"""

from dedup.config import DEFAULTS, validate
from dedup.phase import apply, run_dedup

__all__ = ["DEFAULTS", "validate", "run_dedup", "apply"]
