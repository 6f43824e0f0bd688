"""Moved to :mod:`forecast.metrics.sampling`; this path re-exports it for one release."""

from forecast.metrics.sampling import default_ks, greedy_grade, pass_at_k, success_rate

__all__ = ["default_ks", "greedy_grade", "pass_at_k", "success_rate"]
