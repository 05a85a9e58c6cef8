"""The 30-line function whose first gradient (transform included) benchmarks/first_call.py times.

Ordinary NumPy written with no thought of differentiation: reductions, matrix products, a Python loop with
a branch and the builtin ``max``, a list, a conditional penalty.
"""

import numpy as np


def portfolio_objective(weights, returns, risk_aversion=3.0, cap=0.25, cost=0.002):
    """Mean-variance objective of a long-short portfolio, with a soft position cap, a transaction cost
    from equal weights, a shrunk covariance and a drawdown penalty from replaying the returns day by day."""
    w = weights / np.sum(np.abs(weights))
    days, assets = returns.shape
    mean = np.mean(returns, axis=0)
    centred = returns - mean
    cov = centred.T @ centred / (days - 1)
    expected = w @ mean
    variance = w @ cov @ w
    over = np.maximum(np.abs(w) - cap, 0.0)
    cap_penalty = np.sum(over**2)
    turnover = np.sum(np.abs(w - 1.0 / assets))
    wealth, peak, drawdown = 1.0, 1.0, 0.0
    for t in range(days):
        wealth = wealth * (1.0 + returns[t] @ w)
        if wealth > peak:
            peak = wealth
        drawdown = max(drawdown, (peak - wealth) / peak)
    shrink = 0.1
    target = np.diag(np.diag(cov))
    shrunk = (1 - shrink) * cov + shrink * target
    robust_variance = w @ shrunk @ w
    sharpe = expected / np.sqrt(variance + 1e-12)
    penalties = [10.0 * cap_penalty, cost * turnover, 0.5 * drawdown]
    total = -expected + risk_aversion * (variance + robust_variance) / 2
    for p in penalties:
        total = total + p
    if sharpe < 0:
        total = total - 0.01 * sharpe
    return total


def inputs():
    """Weights for 8 assets and 20 days of their returns."""
    rng = np.random.default_rng(11)
    return rng.standard_normal(8), rng.standard_normal((20, 8)) * 0.02 + 0.001
