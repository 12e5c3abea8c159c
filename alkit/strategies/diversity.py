"""Diversity and hybrid strategies: kmeans, kcenter, badge, cluster_margin (reference §4.10-4.13)."""
