"""Forward rules of the helpers that assemble cotangents (``layout_grads``, ``field_cotangent``, ...):
each is linear in some of its arguments, so its tangent is the helper applied to their tangents.
"""

from ..rules import registry


def _empty_like(x):
    """The all-None cotangent shaped like structure ``x`` (a dict or sequence of cotangents)."""
    if isinstance(x, dict):
        return {}
    if isinstance(x, (tuple, list)):
        return (None,) * len(x)
    return None


def linear_in(f, *positions):
    """Register the forward rule of a helper that is linear in the arguments at ``positions`` (a helper that
    assembles cotangents, registered beside it): its tangent is the helper applied to their tangents."""

    @registry.forward_rule(f)
    def linear_jvp(args, targs):
        moving = [targs[i] if i < len(targs) else None for i in positions]
        if all(t is None for t in moving):
            return f(*args), None
        targs_in = list(args)
        for i, t in zip(positions, moving, strict=True):
            targs_in[i] = _empty_like(args[i]) if t is None else t
        return f(*args), f(*targs_in)

    return linear_jvp
