"""Code and math/reasoning detection for the mixture categories.

A line-level fastText model labels each line of a document ``code``, ``math``
or ``prose``; a document's ``code_score`` / ``math_score`` is the
character-weighted mean probability of its lines (the share of its text that is
code / math). Line level, because web pages with code or math are mostly prose
around snippets and formulas, and the share is easy to read and threshold.

Tokens keep punctuation and case-folded words (``x**2``, ``\\frac``, ``{``, ``);``
are strong signals); bigrams on.

``category`` (the mixture bucket): ``multilingual`` when the document's language
is not one of ``languages`` (default English), else ``math`` when
math_score >= math_threshold and math_score >= code_score / 2, else ``code`` when
code_score >= code_threshold, else ``general``. The default thresholds (0.1, 0.05)
were chosen on constructed documents (bench/classifiers_code_math.py).

Default training data (``curate train prepare``), all offline:
- code: lines of source files of the installed Python packages (.py, .c, .h,
  .cpp, .js, .sh, ...), grouped by file for the held-out split;
- math: LaTeX lines from ``.. math::`` blocks and ``:math:`` roles of the
  installed packages' docstrings (torch, scipy, sympy, numpy), plus generated
  worked arithmetic/algebra/probability solutions (templated, see
  ``generate_math_lines``);
- prose: lines of the English crawl documents and the reference articles.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from classifiers.common import (DEFAULT_MODEL_DIR, _r, auc, ft_tokens, load_fasttext, shuffled, split,
                                write_card)

DEFAULT_PATH = DEFAULT_MODEL_DIR / "code_math.ftz"
LABELS = ("code", "math", "prose")
CATEGORIES = ("general", "math", "code", "multilingual")

TRAIN_DEFAULTS: dict[str, Any] = {
    "dim": 32, "epoch": 10, "lr": 0.3, "wordNgrams": 2, "minCount": 1, "bucket": 200_000, "loss": "softmax",
    "heldout": 0.2, "seed": 0, "quantize": True, "cutoff": 20_000, "dsub": 2, "qnorm": True, "retrain": True,
    "quantize_epoch": 5,
}
CODE_SUFFIXES = (".py", ".pyi", ".c", ".h", ".cpp", ".hpp", ".cc", ".cu", ".cuh", ".js", ".ts", ".sh", ".java",
                 ".go", ".rs", ".pyx", ".pxd", ".sql")


# --- scoring --------------------------------------------------------------------------------

def load_model(model_path: str | None = None):
    return load_fasttext(model_path or DEFAULT_PATH, "code/math line")


def _lines(text: str | None, max_chars: int, max_line_chars: int = 1000) -> list[str]:
    if not text:
        return []
    return [ln.strip()[:max_line_chars] for ln in text[:max_chars].splitlines() if ln.strip()]


def line_probs(model, lines: Sequence[str]) -> np.ndarray:
    """(n_lines, 3) probabilities in LABELS order."""
    if not lines:
        return np.zeros((0, 3))
    labels, probs = model.predict([ft_tokens(ln, 2_000) for ln in lines], k=3)
    out = np.zeros((len(lines), 3))
    for i, (labs, ps) in enumerate(zip(labels, probs)):
        for lab, pr in zip(labs, ps):
            out[i, LABELS.index(lab.removeprefix("__label__"))] = pr
    return np.clip(out, 0.0, 1.0)  # fastText's softmax can exceed 1 by rounding


def doc_scores(texts: Sequence[str | None], model_path: str | None = None,
               max_chars: int = 50_000) -> list[tuple[float, float]]:
    """``(code_score, math_score)`` per document: character-weighted mean line probabilities."""
    model = load_model(str(model_path) if model_path else None)
    per_doc = [_lines(t, max_chars) for t in texts]
    flat = [ln for lines in per_doc for ln in lines]
    probs = line_probs(model, flat)
    out, k = [], 0
    for lines in per_doc:
        if not lines:
            out.append((0.0, 0.0))
            continue
        w = np.asarray([len(ln) for ln in lines], float)
        p = probs[k: k + len(lines)]
        k += len(lines)
        s = (p * w[:, None]).sum(0) / w.sum()
        out.append((min(1.0, float(s[0])), min(1.0, float(s[1]))))
    return out


def category(lang: str | None, code_score: float, math_score: float, languages: Sequence[str] = ("en",),
             code_threshold: float = 0.1, math_threshold: float = 0.05) -> str:
    """The mixture bucket. Math wins over code when its share is at least half the code share (LaTeX and
    formulas also look like code to the line model)."""
    if languages and lang not in languages:
        return "multilingual"
    if math_score >= math_threshold and math_score >= 0.5 * code_score:
        return "math"
    if code_score >= code_threshold:
        return "code"
    return "general"


# --- training ------------------------------------------------------------------------------

def train(rows: list[dict], out: str | Path = DEFAULT_PATH, params: dict[str, Any] | None = None,
          data_desc: dict | None = None, quiet: bool = True) -> dict[str, Any]:
    """Rows: ``text`` (one line), ``label`` in code/math/prose, optional ``group`` (e.g. the source file)."""

    p = {**TRAIN_DEFAULTS, **(params or {})}
    bad = {r["label"] for r in rows} - set(LABELS)
    if bad:
        raise ValueError(f"code/math labels must be in {LABELS}; got {sorted(bad)}")
    tr, te = split(rows, p["heldout"], p["seed"])
    tr = shuffled(tr, p["seed"])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "train.txt"
        with open(f, "w", encoding="utf-8") as fh:
            for r in tr:
                fh.write(f"__label__{r['label']} {ft_tokens(r['text'], 2_000)}\n")
        from classifiers.quality_fasttext import train_supervised

        qargs = dict(cutoff=p["cutoff"], dsub=p["dsub"], qnorm=p["qnorm"], retrain=p["retrain"],
                     epoch=p["quantize_epoch"]) if p["quantize"] else None
        model, quantized = train_supervised(str(f), dict(dim=p["dim"], epoch=p["epoch"], lr=p["lr"],
                                                         wordNgrams=p["wordNgrams"], minCount=p["minCount"],
                                                         bucket=p["bucket"], loss=p["loss"], seed=p["seed"],
                                                         thread=1, verbose=0 if quiet else 2), p, qargs)
        full = Path(tmp) / "full.bin"
        model.save_model(str(full))
        full_size = full.stat().st_size
        model = quantized or model
    tmp_out = out.with_name(out.name + ".tmp")
    model.save_model(str(tmp_out))
    os.replace(tmp_out, out)
    card = {"task": "line classification code / math / prose (fastText, bigram); document scores are "
                    "character-weighted means of line probabilities",
            "data": {**(data_desc or {}), "train_rows": len(tr), "heldout_rows": len(te),
                     "train_by_label": {lab: sum(r["label"] == lab for r in tr) for lab in LABELS}},
            "parameters": p, "heldout": evaluate_lines(model, te),
            "size": {"bytes": out.stat().st_size, "unquantized_bytes": full_size},
            "speed": {"train_s": round(time.time() - t0, 2)}}
    write_card(out, card)
    return card


def evaluate_lines(model, rows: Sequence[dict]) -> dict[str, Any]:
    if not rows:
        return {}
    probs = line_probs(model, [r["text"] for r in rows])
    y = [LABELS.index(r["label"]) for r in rows]
    m: dict[str, Any] = {"n": len(rows), "accuracy": _r(float(np.mean(probs.argmax(1) == y)))}
    for i, lab in enumerate(LABELS[:2]):
        m[f"auc_{lab}_vs_rest"] = _r(auc([yy == i for yy in y], probs[:, i]))
        m[f"n_{lab}"] = int(sum(yy == i for yy in y))
    return m


# --- default training data -------------------------------------------------------------------

def site_packages_dirs() -> list[Path]:
    import sysconfig

    return sorted({Path(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")})


def code_lines(roots: Sequence[Path], max_files: int = 600, max_lines_per_file: int = 40,
               seed: int = 0) -> Iterator[dict]:
    """Non-trivial lines of a deterministic sample of source files (group = file)."""
    files = sorted(p for root in roots for p in root.rglob("*")
                   if p.suffix in CODE_SUFFIXES and p.is_file() and "test" not in p.name.lower())
    rng = random.Random(seed)
    rng.shuffle(files)
    for f in files[:max_files]:
        try:
            text = f.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        lines = [ln.strip() for ln in text.splitlines()]
        # code lines only: skip comments, docstring prose and blank lines
        lines = [ln for ln in lines if len(ln) >= 8 and not ln.startswith(("#", "//", "*", "/*", '"""', "'''"))
                 and not re.fullmatch(r"[A-Za-z ,.'()-]+", ln)]
        rng.shuffle(lines)
        for ln in lines[:max_lines_per_file]:
            yield {"text": ln, "label": "code", "group": f"code:{f.name}", "source": f"code{f.suffix}"}


_MATH_BLOCK = re.compile(r"\.\. math::\s*\n((?:[ \t]*\n|[ \t]+\S.*\n)+)")
_MATH_ROLE = re.compile(r":math:`([^`]{6,})`")


def docstring_math_lines(roots: Sequence[Path], packages: Sequence[str] = ("torch", "scipy", "sympy", "numpy"),
                         max_per_package: int = 1500, seed: int = 0) -> Iterator[dict]:
    """LaTeX from ``.. math::`` blocks and ``:math:`` roles in the sources of the given packages."""
    rng = random.Random(seed)
    for pkg in packages:
        found = []
        for root in roots:
            d = root / pkg
            if not d.is_dir():
                continue
            for f in sorted(d.rglob("*.py")):
                try:
                    src = f.read_text(encoding="utf-8")
                except (UnicodeDecodeError, OSError):
                    continue
                if "math:" not in src:
                    continue
                for m in _MATH_BLOCK.finditer(src):
                    for ln in m.group(1).splitlines():
                        ln = ln.strip()
                        if len(ln) >= 8 and not ln.startswith(":"):
                            found.append((ln, f.name))
                for m in _MATH_ROLE.finditer(src):
                    found.append((m.group(1).strip(), f.name))
        rng.shuffle(found)
        for ln, fname in found[:max_per_package]:
            yield {"text": ln, "label": "math", "group": f"math:{pkg}:{fname}", "source": f"latex:{pkg}"}


def generate_math_lines(n: int = 3000, seed: int = 0) -> Iterator[dict]:
    """Worked solutions in plain text and LaTeX: arithmetic, linear equations, fractions, percentages,
    quadratics, probability, derivatives, sums. Templated, so the model learns notation and solution
    phrasing rather than any particular text; the held-out split is by template."""
    rng = random.Random(seed)

    def r(a=2, b=20):
        return rng.randint(a, b)

    templates = [
        lambda: (lambda a, b, c: f"Solve {a}x + {b} = {a * c + b}. Subtract {b} from both sides: {a}x = {a * c}, "
                                 f"so x = {a * c}/{a} = {c}.")(r(), r(), r()),
        lambda: (lambda a, b: f"$$\\frac{{{a}}}{{{b}}} + \\frac{{1}}{{{b}}} = \\frac{{{a + 1}}}{{{b}}}$$")(r(), r()),
        lambda: (lambda a, b: f"Therefore {a} \\times {b} = {a * b}, and {a * b} - {a} = {a * b - a}.")(r(), r()),
        lambda: (lambda p, q: f"If a bag holds {p} red and {q} blue balls, the probability of drawing red is "
                              f"{p}/{p + q}.")(r(1, 9), r(1, 9)),
        lambda: (lambda a, b: f"The roots of $x^2 - {a + b}x + {a * b} = 0$ are $x = {a}$ and $x = {b}$, since "
                              f"$(x-{a})(x-{b}) = 0$.")(r(1, 9), r(1, 9)),
        lambda: (lambda n: f"Let $f(x) = x^{n}$. Then $f'(x) = {n}x^{{{n - 1}}}$ and "
                           f"$\\int_0^1 f(x)\\,dx = \\frac{{1}}{{{n + 1}}}$.")(r(2, 9)),
        lambda: (lambda n: f"\\sum_{{k=1}}^{{{n}}} k = \\frac{{{n}({n}+1)}}{{2}} = {n * (n + 1) // 2}")(r(3, 99)),
        lambda: (lambda a, p: f"{p}% of {a} is {a} * {p} / 100 = {a * p / 100:g}.")(r(10, 500), r(1, 99)),
        lambda: (lambda a, b: f"Proof. Suppose n = {a}k + {b} for some integer k. Then n^2 = {a * a}k^2 + "
                              f"{2 * a * b}k + {b * b}, which is odd. QED")(r(2, 9), r(1, 9) * 2 - 1),
        lambda: (lambda a, b: f"By the Pythagorean theorem, c = sqrt({a}^2 + {b}^2) = "
                              f"sqrt({a * a + b * b}).")(r(1, 30), r(1, 30)),
        lambda: (lambda a, b, c: f"\\begin{{align}} y &= {a}x + {b} \\\\ y &= {c}x \\end{{align}} hence "
                                 f"x = \\frac{{{b}}}{{{c - a if c != a else 1}}}")(r(), r(), r()),
        lambda: (lambda m, s: f"With mean \\mu = {m} and standard deviation \\sigma = {s}, the z-score of x is "
                              f"z = (x - {m}) / {s}.")(r(10, 99), r(1, 15)),
        lambda: (lambda a: f"Step 2: multiply both sides by {a} to get {a}(y - 3) = {a}y - {3 * a}.")(r()),
        lambda: (lambda a, b: f"We have gcd({a * b}, {a}) = {a} and lcm({a}, {b}) = {a * b // np.gcd(a, b)}.")(
            r(), r()),
    ]
    for i in range(n):
        t = i % len(templates)
        yield {"text": templates[t](), "label": "math", "group": f"gen:{t}", "source": "generated_math"}


def prose_lines(docs: Sequence[dict], max_lines_per_doc: int = 30, seed: int = 0) -> Iterator[dict]:
    """Lines of prose documents (group = document)."""
    rng = random.Random(seed)
    for i, d in enumerate(docs):
        lines = [ln.strip() for ln in (d["text"] or "").splitlines() if len(ln.strip()) >= 8]
        rng.shuffle(lines)
        for ln in lines[:max_lines_per_doc]:
            yield {"text": ln, "label": "prose", "group": f"prose:{d.get('url') or i}", "source": d.get("source", "prose")}
