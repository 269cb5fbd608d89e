"""The closed forms of BG/NBD, MBG/NBD and Pareto/NBD evaluated with mpmath at high precision.

Independent reference values for the numerical tests: each function is the
formula as printed in the paper, with mpmath's ``hyp2f1``, ``loggamma`` and
``beta`` at ``mp.dps`` digits and no transformation or rearrangement.

* BG/NBD: Fader, Hardie & Lee (2005), Marketing Science 24(2), eqs. 6, 9, 10 and 11.
* MBG/NBD: Batislam, Denizel & Filiztekin (2007), IJRM 24(3), eqs. 5-8.
* Pareto/NBD: Fader, Hardie & Lee (2005), "A note on implementing the Pareto/NBD
  model in MATLAB", eqs. 1-3 and 22 (after Schmittlein, Morrison & Colombo 1987).
"""
from __future__ import annotations

import functools

import mpmath as mp


def hyp2f1(A, B, C, z):
    """Gauss's series Σ (A)_n (B)_n / ((C)_n n!) zⁿ, summed term by term (0 <= z < 1).

    Summed directly up to z = 0.999; mpmath's own ``hyp2f1`` switches to a
    transformation near z = 1 that is very slow, or fails, when A, B, C are in the
    millions. Callers with z closer to 1 use the integral the closed form came from.
    """
    assert 0 <= z <= 0.999, z
    term, total, n = mp.mpf(1), mp.mpf(1), 0
    while True:
        term *= (A + n) * (B + n) / ((C + n) * (n + 1)) * z
        total += term
        n += 1
        if abs(term) < abs(total) * mp.eps and n > 2:
            return total


def _m(*v):
    return [mp.mpf(x) for x in v]


def bg_loglik(r, al, a, b, x, tx, T, modified=False):
    """ln L(r, α, a, b | x, t_x, T)."""
    r, al, a, b, x, tx, T = _m(r, al, a, b, x, tx, T)
    m = 1 if modified else 0
    nbd = mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(al)
    alive = mp.beta(a, b + x + m) / mp.beta(a, b) * (al + T) ** -(r + x)
    dead = (mp.beta(a + 1, b + x - 1 + m) / mp.beta(a, b) * (al + tx) ** -(r + x)
            if (x > 0 or modified) else 0)
    return nbd + mp.log(alive + dead)


def bg_p_alive(r, al, a, b, x, tx, T, modified=False):
    r, al, a, b, x, tx, T = _m(r, al, a, b, x, tx, T)
    if x == 0 and not modified:
        return mp.mpf(1)
    bx = b + x - 1 + (1 if modified else 0)
    return 1 / (1 + a / bx * ((al + T) / (al + tx)) ** (r + x))


def _beta_mean(a, b, f):
    """E f(p) for p ~ Beta(a, b) by tanh-sinh quadrature: split around the mean when
    a, b >= 1; else on [0, ½] and [½, 1] after p = v^(1/a) and 1 − p = v^(1/b), which
    remove the endpoint singularities of the density."""
    lB = mp.log(mp.beta(a, b))
    if a >= 1 and b >= 1:
        mean, sd = a / (a + b), mp.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        cuts = sorted({mp.mpf(0), mp.mpf(1), *(min(max(mean + k * sd, mp.mpf(0)), mp.mpf(1))
                                                for k in (-40, -8, -2, 0, 2, 8, 40))})
        dens = lambda p: mp.exp((a - 1) * mp.log(p) + (b - 1) * mp.log1p(-p) - lB)  # noqa: E731
        return mp.quad(lambda p: dens(p) * f(p), cuts)
    half = mp.mpf(1) / 2
    lo = mp.quad(lambda v: f(v ** (1 / a)) * mp.exp((b - 1) * mp.log1p(-v ** (1 / a)) - lB) / a,
                 [0, half ** a])
    hi = mp.quad(lambda v: f(1 - v ** (1 / b)) * mp.exp((a - 1) * mp.log1p(-v ** (1 / b)) - lB) / b,
                 [0, half ** b])
    return lo + hi


def bg_expected_new(r, al, a, b, t, modified=False):
    """E[X(t)]; for t/(α+t) > 0.999 the expectation over p ~ Beta(a, b) of
    E[X(t) | p] = [1 − (α/(α+pt))^r]/p (FHL 2005, eq. 7 integrated over λ) by quadrature."""
    r, al, a, b, t = _m(r, al, a, b, t)
    z = t / (al + t)
    if z > 0.999:
        g = lambda p: -mp.expm1(-r * mp.log1p(p * t / al)) / p  # noqa: E731
        if modified:
            return b / (a + b) * _beta_mean(a, b + 1, g)
        return _beta_mean(a, b, g)
    if modified:
        return b / (a - 1) * (1 - (al / (al + t)) ** r * hyp2f1(r, b + 1, a + b, z))
    return (a + b - 1) / (a - 1) * (1 - (al / (al + t)) ** r * hyp2f1(r, b, a + b - 1, z))


def bg_expected(r, al, a, b, t, x, tx, T, modified=False):
    r, al, a, b, t, x, tx, T = _m(r, al, a, b, t, x, tx, T)
    m = 1 if modified else 0
    c = a + b + x - 1 + m
    z = t / (al + T + t)
    num = c / (a - 1) * (1 - ((al + T) / (al + T + t)) ** (r + x) * hyp2f1(r + x, b + x + m, c, z))
    return num * bg_p_alive(r, al, a, b, x, tx, T, modified)


@functools.lru_cache(maxsize=256)
def _pnbd_A0(r, al, s, be, x, tx, T, quad=False):
    """A₀; when the ₂F₁ argument exceeds 0.999 (or ``quad``), from the integral it
    came from, (r+s+x) ∫_{t_x}^T (α+τ)^−(r+x) (β+τ)^−(s+1) dτ (Schmittlein et al. 1987)."""
    k = r + s + x
    if quad or abs(al - be) / (max(al, be) + tx) > 0.999:
        f = lambda u: mp.exp(-(r + x) * mp.log(al + u) - (s + 1) * mp.log(be + u))  # noqa: E731
        # the integrand is log-convex: it falls fastest at t_x, by e^−1 over `scale`,
        # then ever more slowly, so pieces grow geometrically from that scale
        scale = 1 / ((r + x) / (al + tx) + (s + 1) / (be + tx))
        cuts = [tx + scale * 2 ** j for j in range(-8, 60) if scale * 2 ** j < T - tx]
        return k * mp.quad(f, [tx, *cuts, T])
    if al >= be:
        F = lambda u: hyp2f1(k, s + 1, k + 1, (al - be) / (al + u)) / (al + u) ** k  # noqa: E731
    else:
        F = lambda u: hyp2f1(k, r + x, k + 1, (be - al) / (be + u)) / (be + u) ** k  # noqa: E731
    return F(tx) - F(T)


def pnbd_loglik(r, al, s, be, x, tx, T):
    r, al, s, be, x, tx, T = _m(r, al, s, be, x, tx, T)
    lead = mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(al) + s * mp.log(be)
    first = (al + T) ** -(r + x) * (be + T) ** -s
    return lead + mp.log(first + s / (r + s + x) * _pnbd_A0(r, al, s, be, x, tx, T))


def pnbd_p_alive(r, al, s, be, x, tx, T):
    r, al, s, be, x, tx, T = _m(r, al, s, be, x, tx, T)
    A0 = _pnbd_A0(r, al, s, be, x, tx, T)
    return 1 / (1 + s / (r + s + x) * (al + T) ** (r + x) * (be + T) ** s * A0)


def pnbd_expected_new(r, al, s, be, t):
    r, al, s, be, t = _m(r, al, s, be, t)
    return r * be / (al * (s - 1)) * (1 - (be / (be + t)) ** (s - 1))


def pnbd_expected(r, al, s, be, t, x, tx, T):
    r, al, s, be, t, x, tx, T = _m(r, al, s, be, t, x, tx, T)
    grow = (r + x) * (be + T) / ((al + T) * (s - 1)) * (1 - ((be + T) / (be + T + t)) ** (s - 1))
    return grow * pnbd_p_alive(r, al, s, be, x, tx, T)
