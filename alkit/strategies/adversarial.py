"""Adversarial-margin strategies: adv_bim, adv_deepfool (reference §4.14-4.15)."""
