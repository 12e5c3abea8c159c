"""MC-dropout strategies: entropy_mc, margin_mc, least_conf_mc, bald, mean_std, batch_bald (reference §4.6-4.8)."""
