"""Constructing objects: namedtuples and dataclasses (``record_forward``: each argument becomes a field),
classes with a Python ``__init__`` (``construct_forward``: ``__init__`` transformed as a function returning
the fresh ``self``), a dataclass's generated ``__init__`` as Python (``dataclass_init``), and the calls of a
parent's ``__init__`` inside a constructor (``init_into``, ``parent_init``, ``super``).
"""

import dataclasses
import inspect
from types import FunctionType

from ..rules import registry
from ..tangents import KeywordGrads, Tangent
from .foreign import _carries_float, none_pullback
from .keywords import bound_values, keyword_layout, layout_grads, merge_keyword_grads, remaining_keywords
from .linear import linear_in


def _record_fields(cls):
    """The constructor's field names of a namedtuple or dataclass type, else None."""
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return tuple(cls._fields)
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.init:
        return None
    init = getattr(cls, "__init__", None)
    owner = next((k for k in cls.__mro__ if "__init__" in k.__dict__), None)
    if type(init) is not FunctionType or not _generated_init(owner, init):
        return None  # a subclass's own __init__ (or the dataclass's, written in its body) runs
    if hasattr(cls, "__post_init__") or any(
        f._field_type is dataclasses._FIELD_INITVAR for f in cls.__dataclass_fields__.values()
    ):
        return None  # construction does more than store the arguments
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def _python_init(cls):
    """The Python ``__init__`` of a class built the ordinary way (``object.__new__``), else None. The
    ``__init__`` a dataclass generates has no source (dataclasses make it with exec): its stand-in
    :func:`dataclass_init` (records with no ``__post_init__`` go by ``_record_fields`` first)."""
    if cls.__new__ is not object.__new__:
        return None
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            if type(init) is not FunctionType:
                return None
            return dataclass_init if _generated_init(klass, init) else init
    return None


def _generated_init(klass, init):
    """Whether ``init``, defined in ``klass``, is the ``__init__`` dataclasses generated for it."""
    return "__dataclass_fields__" in klass.__dict__ and init.__code__.co_filename.startswith("<")


def dataclass_init(self, *args, **kwargs):
    """The ``__init__`` a dataclass generates, as Python that fluxpy transforms as a constructor: each field
    from its argument (or its default), then ``__post_init__`` run on the object as a constructor is, so
    that its attribute writes (``self.b = self.a * 2``) are differentiated."""
    cls = type(self)
    sources, stores, initvars, frozen = dataclass_plan(cls, len(args), tuple(kwargs))
    values = []
    for kind, key in sources:
        if kind == "arg":
            values = values + [args[key]]
        elif kind == "keyword":
            values = values + [kwargs[key]]
        else:
            values = values + [dataclass_default(cls, key)]
    for name, position in stores:
        value = dataclass_default(cls, name) if position < 0 else values[position]
        if frozen:
            object.__setattr__(self, name, value)
        else:
            setattr(self, name, value)
    post = post_init_of(cls)
    if post is not None:
        self = init_into(post, self, *[values[i] for i in initvars])


def _dataclass_owner(cls):
    """The first class in ``cls``'s MRO with a generated ``__init__``: the one that runs (the first
    ``__init__`` of all, or the one a subclass's own ``__init__`` calls by ``super().__init__(...)``)."""
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if type(init) is FunctionType and _generated_init(klass, init):
            return klass
    return None


_dataclass_plans = {}


def dataclass_plan(cls, nargs, keywords):
    """How the generated ``__init__`` of dataclass ``cls`` uses ``nargs`` positional arguments and the
    keyword arguments ``keywords``: ``(sources, stores, initvars, frozen)``. ``sources``: per parameter,
    ``("arg", position)``, ``("keyword", name)`` or ``("default", field name)``; ``stores``: the fields it
    sets, in order, as ``(name, parameter)`` (-1: the field's default, for a field with ``init=False``);
    ``initvars``: the parameters passed on to ``__post_init__``. Wrong arguments raise Python's TypeError."""
    key = (cls, nargs, keywords)
    plan = _dataclass_plans.get(key)
    if plan is not None:
        return plan
    owner = _dataclass_owner(cls)
    signature = inspect.signature(owner.__init__)
    bound = signature.bind(None, *range(nargs), **dict.fromkeys(keywords)).arguments
    params = list(signature.parameters)[1:]
    sources = tuple(_dataclass_source(name, keywords, bound) for name in params)
    fields = owner.__dataclass_fields__
    stores = tuple(
        (name, params.index(name) if f.init else -1)
        for name, f in fields.items()
        if f._field_type is dataclasses._FIELD
        and (f.init or f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING)
    )
    initvars = tuple(
        params.index(name) for name, f in fields.items() if f._field_type is dataclasses._FIELD_INITVAR
    )
    plan = (sources, stores, initvars, owner.__dataclass_params__.frozen)
    _dataclass_plans[key] = plan
    return plan


def _dataclass_source(name, keywords, bound):
    if name in keywords:
        return ("keyword", name)
    return ("arg", bound[name]) if name in bound else ("default", name)


def dataclass_default(cls, name):
    """The default value of field ``name`` of dataclass ``cls`` (a new one from its ``default_factory``)."""
    field = _dataclass_owner(cls).__dataclass_fields__[name]
    return field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default


def post_init_of(cls):
    """The ``__post_init__`` the generated ``__init__`` of dataclass ``cls`` calls, else None."""
    if not hasattr(_dataclass_owner(cls), "__post_init__"):
        return None
    return cls.__post_init__


def _implicit_running():
    """Whether an implicit gradient's forward pass (fx.gradient(f, fx.params(...))) may be running."""
    from ..implicit import _forward  # (late: implicit imports the runtime)

    return _forward[0] > 0


def construct_forward(cls, /, *args, **kwargs):
    """Forward of ``cls(*args)``: ``__init__`` transformed as a function returning the fresh ``self``."""
    from ..transform.cache import forward_function

    if not any(_carries_float(v) for v in list(args) + list(kwargs.values())) and not _implicit_running():
        # nothing differentiable goes in (np.ndindex(shape), Layer(3, 4)): build it as Python does. Not
        # for implicit gradients: __init__ may read a parameter from a global (self.p = W)
        return cls(*args, **kwargs), none_pullback(len(args) + 1 + (1 if kwargs else 0))
    obj = new_object(cls)
    init = _python_init(cls)
    layout, names = keyword_layout(init, len(args) + 1, kwargs)
    full = (obj,) + args + bound_values(kwargs, layout)
    rest = remaining_keywords(kwargs, names)
    y, pb = forward_function(init, constructor=True)(init, *full, **rest)
    n = len(args)

    def construct_pullback(dy):
        g = pb(dy)
        head = (None,) + g[2 : n + 2]
        if kwargs:
            return head + (merge_keyword_grads(layout_grads(g, n + 2, layout), g[-1]),)
        return head

    return y, construct_pullback


def init_into(init, obj, /, *args, **kwargs):
    """``Base.__init__(self, *args, **kwargs)`` or ``super().__init__(...)`` inside a constructor: ``init``
    run on the fresh ``obj`` as a function returning it (see construct_forward)."""
    if type(init) is not FunctionType:
        init(obj, *args, **kwargs)
    return obj  # the rule below does the work when fluxpy's dispatcher calls this


@registry.adjoint(init_into)
def init_into_rule(init, obj, /, *args, **kwargs):
    from ..transform.cache import forward_function

    n = len(args)
    if type(init) is not FunctionType:
        init(obj, *args, **kwargs)

        def builtin_init_pullback(dobj):
            return (None, dobj) + (None,) * n

        return obj, builtin_init_pullback
    owner = _dataclass_owner(type(obj))
    if owner is not None and owner.__dict__["__init__"] is init:  # ``Base.__init__(self, ...)``, generated
        init = dataclass_init
    layout, names = keyword_layout(init, n + 1, kwargs)
    full = args + bound_values(kwargs, layout)
    rest = remaining_keywords(kwargs, names)
    y, pb = forward_function(init, constructor=True)(init, obj, *full, **rest)

    def init_into_pullback(dobj):
        g = pb(dobj)
        head = (None,) + g[1 : n + 2]
        if kwargs:
            return head + (merge_keyword_grads(layout_grads(g, n + 2, layout), g[-1]),)
        return head

    return y, init_into_pullback


def parent_init(cls, obj):
    """The ``__init__`` after ``cls`` in ``obj``'s MRO, as a plain function when it is Python code."""
    init = super(cls, obj).__init__
    func = getattr(init, "__func__", None)
    if type(func) is FunctionType:
        after = type(obj).__mro__[type(obj).__mro__.index(cls) + 1 :]
        owner = next(k for k in after if "__init__" in k.__dict__)
        return dataclass_init if _generated_init(owner, func) else func
    return type(obj).__mro__[type(obj).__mro__.index(cls) + 1].__init__


@registry.adjoint(super)
def super_rule(*args):
    def super_pullback(dy):
        # the cotangent of a super() proxy is the cotangent of the object it proxies
        return (None, dy) if len(args) == 2 else (None,) * len(args)

    return super(*args), super_pullback


def namedtuple_replace(obj, **changes):
    """``obj._replace(**changes)`` for a namedtuple ``obj``."""
    return obj._replace(**changes)


@registry.adjoint(namedtuple_replace)
def namedtuple_replace_rule(obj, **changes):
    fields = type(obj)._fields

    def namedtuple_replace_pullback(dy):
        dobj = tuple(None if f in changes else dy[i] for i, f in enumerate(fields))
        return (dobj, KeywordGrads({f: dy[i] for i, f in enumerate(fields) if f in changes}))

    return obj._replace(**changes), namedtuple_replace_pullback


def new_object(cls):
    """A fresh, uninitialized instance of ``cls``."""
    return object.__new__(cls)


def record_forward(cls, /, *args, **kwargs):
    """Forward of constructing a namedtuple or a dataclass: each argument becomes a field."""
    fields = _record_fields(cls)
    y = cls(*args, **kwargs)
    n = len(args)

    def record_pullback(dy):
        values = record_field_grads(dy, fields)
        grads = (None,) + values[:n]
        if kwargs:
            return grads + (keyword_field_grads(values, fields, tuple(kwargs)),)
        return grads

    return y, record_pullback


def record_field_grads(dy, fields):
    """The cotangents of a record's fields, in constructor order (dy: a tuple or a Tangent)."""
    if dy is None:
        return (None,) * len(fields)
    if isinstance(dy, Tangent):
        return tuple(dy.get(name) for name in fields)
    return tuple(dy)


@registry.adjoint(record_field_grads)
def record_field_grads_rule(dy, fields):
    as_tuple = not isinstance(dy, Tangent)  # a namedtuple's cotangent is a tuple of its fields

    def record_field_grads_pullback(dd):
        if as_tuple:
            return (tuple(dd), None)
        return (Tangent(object, dict(zip(fields, dd, strict=True))), None)

    return record_field_grads(dy, fields), record_field_grads_pullback


def keyword_field_grads(values, fields, names):
    """The KeywordGrads of constructor keywords ``names``."""
    return KeywordGrads({name: values[fields.index(name)] for name in names if name in fields})


@registry.adjoint(keyword_field_grads)
def keyword_field_grads_rule(values, fields, names):
    def keyword_field_grads_pullback(dd):
        out = [None] * len(values)
        for name in names:
            if name in fields:
                out[fields.index(name)] = dd.get(name)
        return (tuple(out), None, None)

    return keyword_field_grads(values, fields, names), keyword_field_grads_pullback


registry.nograd(
    _record_fields, _python_init, dataclass_plan, dataclass_default, post_init_of, new_object, parent_init
)
linear_in(record_field_grads, 0)
