"""Strategies that change training: ceal, lpl, ensemble_var_ratio (reference §4.9, §4.16)."""
