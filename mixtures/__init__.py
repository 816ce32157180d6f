"""Tokenize-and-mix: token shards, weighted mixtures and the annealing mixture: see issue 6."""
