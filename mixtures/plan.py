"""Mixture planning: token budgets per component from category weights, multipliers and epoch caps.

For a mixture with category weights ``W_k`` (normalized to sum 1), a budget ``B`` tokens and, per component
``c`` of category ``k``: available tokens ``a_c``, multiplier ``m_c = quality_weight(bucket) × topic_weight(topic)``
and epoch cap ``e_c``:

1. Category targets ``T_k = B·W_k``. A category whose capacity ``C_k = Σ e_c·a_c`` (over components with
   ``m_c > 0``) is below its target is *short*. ``on_short: redistribute`` (default) gives it ``C_k`` and
   shares the deficit among the other categories in proportion to their weights (water-filling; the budget is
   met, the weights move, and both are reported); ``shrink`` keeps the weights and lowers the budget to
   ``min_k C_k / W_k``; ``error`` refuses. A budget above ``Σ_k C_k`` (all usable data × the epoch cap) is
   refused with the numbers, never looped over.
2. Inside a category, ``t_c = min(e_c·a_c, λ·m_c·a_c)`` with ``λ`` such that ``Σ t_c = T_k``: the sampling
   rate (epochs) ``t_c / a_c`` is proportional to the multiplier, capped per component, and what a capped
   component cannot take goes to the others of its category.

All arithmetic is closed-form water-filling (at most one pass per item), so nothing loops on short data.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from mixtures.config import MixConfigError, MixError, parse_budget

log = logging.getLogger(__name__)


def waterfill(weights: dict[str, float], caps: dict[str, float], total: float) -> dict[str, float]:
    """``t_i = min(cap_i, λ·w_i)`` with ``Σ t_i = total`` (all items capped if ``Σ cap < total``)."""
    alloc = {k: 0.0 for k in weights}
    active = sorted(k for k, w in weights.items() if w > 0 and caps[k] > 0)
    fixed = 0.0
    while active:
        lam = (total - fixed) / sum(weights[k] for k in active)
        over = [k for k in active if caps[k] < lam * weights[k]]
        if not over:
            for k in active:
                alloc[k] = lam * weights[k]
            break
        for k in over:
            alloc[k] = caps[k]
            fixed += caps[k]
        active = [k for k in active if k not in over]
    return alloc


def _fmt(n: float) -> str:
    for unit, div in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.0f}"


def _epoch_cap(me: float | dict[str, float], comp: str, category: str) -> float:
    if isinstance(me, dict):
        return float(me.get(comp, me.get(category, me["default"])))
    return float(me)


def plan_mixture(name: str, mcfg: dict[str, Any], components: dict[str, dict[str, Any]],
                 top: str, corpus_tokens: int) -> dict[str, Any]:
    """Plan one mixture over the tokenized components (``{name: {category, bucket, topic, docs, tokens}}``)."""
    warnings: list[str] = []

    def warn(msg: str) -> None:
        warnings.append(msg)
        log.warning("mix.%s: %s", name, msg)

    qw = dict(mcfg["quality_weights"])
    if "top" in qw:
        qw.setdefault(top, qw["top"])
    tw = mcfg["topic_weights"]
    me = mcfg["max_epochs"]
    if isinstance(me, dict):
        cats = {c["category"] for c in components.values()}
        for key in me:
            if key != "default" and key not in components and key not in cats and key not in mcfg["weights"]:
                raise MixConfigError(f"mix.{name}.max_epochs.{key}: no such category or component")

    # Category weights, normalized.
    raw = dict(mcfg["weights"])
    s = sum(raw.values())
    if not math.isclose(s, 1.0, rel_tol=0, abs_tol=1e-6):
        warn(f"weights sum to {s:.6g}, not 1; normalized")
    W = {k: v / s for k, v in raw.items()}

    comps: dict[str, dict[str, Any]] = {}
    for cname, c in sorted(components.items()):
        bucket, topic = c["bucket"], c.get("topic")
        q = qw.get(bucket, mcfg["default_quality_weight"])
        t = tw.get(topic, 1.0) if topic else 1.0
        comps[cname] = {"category": c["category"], "bucket": bucket, "topic": topic, "docs": int(c["docs"]),
                        "available_tokens": int(c["tokens"]), "multiplier": q * t,
                        "max_epochs": _epoch_cap(me, cname, c["category"])}

    data_cats = sorted({c["category"] for c in comps.values()})
    for cat in data_cats:
        if W.get(cat, 0.0) == 0.0:
            tokens = sum(c["available_tokens"] for c in comps.values() if c["category"] == cat)
            if cat not in W:
                warn(f"category {cat!r} ({_fmt(tokens)} tokens) has no weight; excluded")
    cats: dict[str, dict[str, Any]] = {}
    for cat in sorted(set(W) | set(data_cats)):
        members = [c for c in comps.values() if c["category"] == cat]
        usable = [c for c in members if c["multiplier"] > 0 and c["available_tokens"] > 0]
        cats[cat] = {"requested_weight": W.get(cat, 0.0), "requested_weight_raw": raw.get(cat, 0.0),
                     "available_tokens": sum(c["available_tokens"] for c in members),
                     "usable_tokens": sum(c["available_tokens"] for c in usable),
                     "capacity_tokens": sum(c["available_tokens"] * c["max_epochs"] for c in usable)}
        if W.get(cat, 0.0) > 0 and not usable:
            why = "no documents" if not members else "no tokens with a non-zero quality/topic weight"
            warn(f"category {cat!r} has {why}: its requested weight {W[cat]:.4g} cannot be met")

    kind, value = parse_budget(mcfg["total_tokens"], f"mix.{name}.total_tokens")
    budget = value if kind == "abs" else value * corpus_tokens
    weighted = {k: w for k, w in W.items() if w > 0}
    capacity = sum(cats[k]["capacity_tokens"] for k in weighted)
    if capacity <= 0:
        raise MixError(f"mix.{name}: no usable tokens in any weighted category ({sorted(weighted)}); "
                       f"the tokenized corpus has {_fmt(corpus_tokens)} tokens in {data_cats}")
    if budget > capacity * (1 + 1e-9):
        raise MixError(
            f"mix.{name}.total_tokens: {_fmt(budget)} tokens requested, but all usable data × the epoch cap is only "
            f"{_fmt(capacity)} tokens (" + ", ".join(
                f"{k}: {_fmt(cats[k]['usable_tokens'])} × ≤{_max_cap(comps, k):g} epochs" for k in sorted(weighted))
            + "); lower total_tokens or raise max_epochs")

    targets = {k: budget * w for k, w in weighted.items()}
    short = sorted(k for k in weighted if targets[k] > cats[k]["capacity_tokens"] * (1 + 1e-9))
    planned_budget = budget
    if short:
        desc = ", ".join(f"{k} (wants {_fmt(targets[k])}, has {_fmt(cats[k]['capacity_tokens'])} with epochs)"
                         for k in short)
        policy = mcfg["on_short"]
        if policy == "error":
            raise MixError(f"mix.{name}: short categories: {desc}; set on_short: redistribute or shrink, "
                           "lower total_tokens, or raise max_epochs")
        if policy == "shrink":
            planned_budget = min(cats[k]["capacity_tokens"] / w for k, w in weighted.items())
            if planned_budget <= 0:
                empty = sorted(k for k in weighted if cats[k]["capacity_tokens"] <= 0)
                raise MixError(f"mix.{name}: on_short: shrink cannot keep the weights: {empty} have no usable "
                               "tokens; give them weight 0 or use on_short: redistribute")
            targets = {k: planned_budget * w for k, w in weighted.items()}
            warn(f"short: {desc}; budget shrunk from {_fmt(budget)} to {_fmt(planned_budget)} tokens to keep "
                 "the requested weights")
        else:
            targets = waterfill(weighted, {k: cats[k]["capacity_tokens"] for k in weighted}, budget)
            warn(f"short: {desc}; the deficit is shared among the other categories, so achieved weights differ "
                 "from the requested ones")

    for cname, c in comps.items():
        c.update(tokens=0.0, epochs=0.0, capped=False, requested_weight=0.0)
    for cat, target in targets.items():
        members = {n: c for n, c in comps.items() if c["category"] == cat}
        share = {n: c["available_tokens"] * c["multiplier"] for n, c in members.items()}
        total_share = sum(share.values())
        caps = {n: c["available_tokens"] * c["max_epochs"] for n, c in members.items()}
        alloc = waterfill(share, caps, target)
        for n, c in members.items():
            c["requested_weight"] = W[cat] * share[n] / total_share if total_share else 0.0
            c["tokens"] = alloc[n]
            c["epochs"] = alloc[n] / c["available_tokens"] if c["available_tokens"] else 0.0
            c["capped"] = alloc[n] > 0 and alloc[n] >= caps[n] * (1 - 1e-9)
    total = sum(c["tokens"] for c in comps.values())
    for c in comps.values():
        c["achieved_weight"] = c["tokens"] / total if total else 0.0
    for cat, d in cats.items():
        d["tokens"] = sum(c["tokens"] for c in comps.values() if c["category"] == cat)
        d["achieved_weight"] = d["tokens"] / total if total else 0.0
        d["short"] = cat in short
    for c in comps.values():
        c["tokens"] = round(c["tokens"])
        for k in ("epochs", "requested_weight", "achieved_weight", "multiplier"):
            c[k] = round(c[k], 10)
    for d in cats.values():
        d["tokens"] = round(d["tokens"])
        for k in ("requested_weight", "requested_weight_raw", "achieved_weight"):
            d[k] = round(d[k], 10)
        d["capacity_tokens"] = round(d["capacity_tokens"])
    return {
        "name": name,
        "total_tokens_requested": round(budget),
        "total_tokens": round(total),
        "corpus_tokens": int(corpus_tokens),
        "on_short": mcfg["on_short"],
        "categories": cats,
        "components": comps,
        "warnings": warnings,
    }


def _max_cap(comps: dict[str, dict[str, Any]], cat: str) -> float:
    caps = [c["max_epochs"] for c in comps.values() if c["category"] == cat and c["multiplier"] > 0]
    return max(caps) if caps else 0.0


def blend(plan: dict[str, Any], files: dict[str, list[dict[str, Any]]], root: str | None = None) -> list:
    """Megatron ``--data-path`` entries ``[weight, prefix, ...]``: a component's weight split over its files
    by tokens (Megatron normalizes the weights and samples each dataset in proportion)."""
    out: list = []
    for cname, c in sorted(plan["components"].items()):
        if c["achieved_weight"] <= 0:
            continue
        ftotal = sum(f["tokens"] for f in files[cname])
        for f in files[cname]:
            w = c["achieved_weight"] * f["tokens"] / ftotal
            if w > 0:
                out += [float(f"{w:.10g}"), f["prefix"] if root is None else f"{root}/{f['prefix']}"]
    return out


def blend_string(entries: list) -> str:
    return " ".join(f"{x:.10g}" if isinstance(x, float) else str(x) for x in entries)
