"""What a value may be, hold or view: the local names whose objects an expression may reach.

The alias analyses (aliases.py, kept_views.py) ask, for an expression bound to a name or passed on, which of
the function's local objects it may be, hold inside, or view: then a write through one name may show
through the other in plain Python, where fluxpy's write (a rebinding) would not. The answer
(:meth:`Sources.of`) is a superset, read from the syntax: a name, an item or attribute of one, a view made
by a NumPy function or method (array_views.py), a branch of ``a if c else b`` or ``a or b``, the items of a
display or comprehension, and what a call may return: any of its arguments, its receiver or the variables a
local function captures, unless the callee is known to make a new value (:meth:`Sources.fresh`: NumPy's
functions other than the view makers, arithmetic, ``len``, ``list``, ``x.copy()``, ``x.sum()``, ...)::

    def f(a, b, k):
        g = lambda: b
        c = [a, 1]         # of: {'a'}
        d = a.reshape(-1)  # of: {'a'}
        e = g()            # of: {'b'} (what g captures)
        s = a.sum() + k    # of: set() (new values)

It also lists the lists, dicts and objects the function builds itself (``Sources.containers``): those the
analyses can follow, unlike a caller's objects.
"""

import gast

from ..rules import augmented
from . import nodes as n
from .array_views import ARRAY_MODULES, same_or_view_source


class Sources:
    """The local names whose objects a value may be, hold or view (:meth:`of`), with what that needs: the
    variables each local function captures, and the lists, dicts and objects the function builds itself."""

    def __init__(self, fdef, body, classes):
        args = fdef.args
        params = {a.id for a in args.posonlyargs + args.args + args.kwonlyargs}
        params |= {a.id for a in (args.vararg, args.kwarg) if a is not None}
        stored = {x.id for x in body if isinstance(x, gast.Name) and isinstance(x.ctx, gast.Store)}
        self.local = params | stored
        self.classes = classes
        self.captured = {}  # local function -> the local names it reads (it may return their objects)
        for node in body:
            function = None
            if isinstance(node, gast.FunctionDef):
                function, scope = node.name, node
            elif (
                isinstance(node, gast.Assign)
                and isinstance(node.value, gast.Lambda)
                and len(node.targets) == 1
                and isinstance(node.targets[0], gast.Name)
            ):
                function, scope = node.targets[0].id, node.value
            if function is not None:
                own = {a.id for a in scope.args.posonlyargs + scope.args.args + scope.args.kwonlyargs}
                reads = {x.id for x in n.walk(scope) if isinstance(x, gast.Name) and x.id in self.local}
                self.captured[function] = (reads - own) | self.captured.get(function, set())
        self.containers, self.instances = _built_containers(body, classes, params)

    def of(self, value):
        """The local names whose objects ``value`` may be, hold or view (a superset)."""
        if isinstance(value, gast.Name):
            return {value.id} if value.id in self.local else set()
        if isinstance(value, gast.Starred):
            return self.of(value.value)
        if isinstance(value, gast.Attribute):
            return set() if value.attr in _DATA_FREE_ATTRIBUTES else self.of(value.value)
        if isinstance(value, gast.Subscript):
            return self.of(value.value)
        if isinstance(value, gast.IfExp):
            return self.of(value.body) | self.of(value.orelse)
        if isinstance(value, gast.BoolOp):
            return set().union(*(self.of(v) for v in value.values))
        if isinstance(value, (gast.Tuple, gast.List, gast.Set)):
            return set().union(*(self.of(v) for v in value.elts))
        if isinstance(value, gast.Dict):
            return set().union(*(self.of(v) for v in value.values))
        if isinstance(value, gast.GeneratorExp):  # lazy: it reads every name it mentions when consumed
            read = {x.id for x in n.walk(value) if isinstance(x, gast.Name) and isinstance(x.ctx, gast.Load)}
            return (read - comprehension_targets(value)) & self.local
        if isinstance(value, (gast.ListComp, gast.SetComp, gast.DictComp)):
            item = value.value if isinstance(value, gast.DictComp) else value.elt
            own = comprehension_targets(value)
            found = self.of(item)
            if found & own:  # [r for r in a]: parts of what is iterated
                for g in value.generators:
                    found |= self.of(g.iter)
            return found - own
        if isinstance(value, gast.Call):
            return self.of_call(value)
        return set()  # arithmetic, comparisons, constants, lambdas, f-strings: new values

    def of_call(self, call):
        """:meth:`of` for a call: its source (a view maker), else its arguments, receiver or captures."""
        if self.fresh(call):
            return set()
        source = same_or_view_source(call)
        if source is not None:
            return self.of(source)
        found = set()
        for arg in call.args + [k.value for k in call.keywords]:
            found |= self.of(arg)
        if isinstance(call.func, gast.Attribute):
            found |= self.of(call.func.value)  # a method's result may be its object or part of it
        elif isinstance(call.func, gast.Name):
            found |= self.captured.get(call.func.id, set())
        return found

    def fresh(self, call):
        """Whether ``call`` surely makes a new value that holds none of its arguments' objects."""
        func = call.func
        if isinstance(func, gast.Name):
            return func.id in FRESH_BUILTINS or func.id in self.classes
        if not isinstance(func, gast.Attribute):
            return False
        root = func.value
        while isinstance(root, gast.Attribute):
            root = root.value
        if isinstance(root, gast.Name) and root.id in ARRAY_MODULES and root.id not in self.local:
            return same_or_view_source(call) is None and func.attr not in _VIEW_MAKING_FUNCTIONS
        return func.attr in FRESH_METHODS and same_or_view_source(call) is None


def in_place_update(stmt):
    """``(name, dunder)`` when ``stmt`` updates a name as ``x op= v`` does: ``x += v`` (``('x', '__iadd__')``)
    or ``x = operator.iadd(x, v)`` (``isub``, ..., ``operator.__iadd__``, a bare ``iadd``: the rebinding form
    the normalizer writes as ``x += v``, anf_updates.in_place_rebinding; told from the syntax, so a user's
    own function of such a name counts too). Python changes an array, a list, a dict or a set in place
    there (another reference sees it), fluxpy rebinds the name. Else None."""
    if isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name):
        return stmt.target.id, IN_PLACE_DUNDERS[type(stmt.op)]
    if not (
        isinstance(stmt, gast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], gast.Name)
        and isinstance(stmt.value, gast.Call)
    ):
        return None
    call, name = stmt.value, stmt.targets[0].id
    func = call.func
    callee = (
        func.attr if isinstance(func, gast.Attribute) else func.id if isinstance(func, gast.Name) else None
    )
    if (
        callee in _IN_PLACE_FUNCTIONS
        and len(call.args) == 2
        and not call.keywords
        and isinstance(call.args[0], gast.Name)
        and call.args[0].id == name
    ):
        return name, _IN_PLACE_FUNCTIONS[callee]
    return None


def comprehension_targets(node):
    """The names a comprehension's own ``for`` targets bind (``r`` in ``[r for r in a]``)."""
    return {x.id for g in node.generators for x in n.walk(g.target) if isinstance(x, gast.Name)}


def _built_containers(body, classes, params):
    """``(containers, instances)``: the local names bound only to lists, dicts and sets the function builds
    (displays, comprehensions, ``list()``, ``dict()``, ``set()``) or to new objects (``C(...)``), and those
    of them bound to new objects."""
    kinds, assigned = {}, set()
    for node in body:
        if isinstance(node, gast.Assign) and in_place_update(node) is not None:
            assigned.add(id(node.targets[0]))  # lst = operator.iadd(lst, v): lst += v
        elif isinstance(node, (gast.Assign, gast.AnnAssign)) and node.value is not None:
            kind = _built_kind(node.value, classes)
            for t in node.targets if isinstance(node, gast.Assign) else [node.target]:
                if isinstance(t, gast.Name):
                    assigned.add(id(t))
                    kinds[t.id] = kind if kinds.get(t.id, kind) == kind else None
        elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
            assigned.add(id(node.target))  # lst += [v] keeps a list a list
    for node in body:  # unpacked, loop, with and except targets: anything
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store) and id(node) not in assigned:
            kinds[node.id] = None
    containers = {name for name, kind in kinds.items() if kind is not None and name not in params}
    return containers, {name for name in containers if kinds[name] == "object"}


def _built_kind(value, classes):
    if isinstance(value, (gast.List, gast.Dict, gast.Set, gast.ListComp, gast.DictComp, gast.SetComp)):
        return "container"
    if isinstance(value, gast.Call) and isinstance(value.func, gast.Name):
        if value.func.id in ("list", "dict", "set", "sorted"):
            return "container"
        if value.func.id in classes:
            return "object"
    return None


# -- the tables ---------------------------------------------------------------------------------------

# ``x op= v``: the method Python calls on ``x`` (the in-place one)
IN_PLACE_DUNDERS = {
    gast.Add: "__iadd__",
    gast.Sub: "__isub__",
    gast.Mult: "__imul__",
    gast.Div: "__itruediv__",
    gast.FloorDiv: "__ifloordiv__",
    gast.Mod: "__imod__",
    gast.Pow: "__ipow__",
    gast.MatMult: "__imatmul__",
    gast.LShift: "__ilshift__",
    gast.RShift: "__irshift__",
    gast.BitOr: "__ior__",
    gast.BitXor: "__ixor__",
    gast.BitAnd: "__iand__",
}
# operator's in-place functions by the names a call may give them (``iadd``, ``__iadd__``) -> the method
_IN_PLACE_FUNCTIONS = {
    name: dunder for op, _, _, dunder in augmented.TABLE for name in (op.__name__, f"__{op.__name__}__")
}

# attributes that hold no data of their object
_DATA_FREE_ATTRIBUTES = frozenset(
    {"shape", "size", "ndim", "dtype", "itemsize", "nbytes", "strides", "__class__"}
)
# NumPy functions (besides array_views' same-or-view ones) whose results may be, hold or view their arguments
_VIEW_MAKING_FUNCTIONS = frozenset(
    {
        "atleast_1d",  # of several arrays (of one: array_views)
        "atleast_2d",
        "atleast_3d",
        "split",
        "array_split",
        "hsplit",
        "vsplit",
        "dsplit",
        "unstack",
        "broadcast_arrays",
        "einsum",
        "diag",
        "trim_zeros",
        "real_if_close",
        "nan_to_num",
        "asmatrix",
        "matrix",
        "frombuffer",
        "as_strided",
        "sliding_window_view",
        "ndarray",
        "nditer",
        "iter",
    }
)
# builtins whose results hold no object of their arguments' that a write could reach (numbers, strings,
# new lists and dicts whose items a write into the new container does not change)
FRESH_BUILTINS = frozenset(
    {
        "len",
        "range",
        "int",
        "float",
        "complex",
        "bool",
        "str",
        "bytes",
        "repr",
        "format",
        "abs",
        "round",
        "sum",
        "pow",
        "divmod",
        "isinstance",
        "issubclass",
        "type",
        "hash",
        "id",
        "any",
        "all",
        "print",
        "callable",
        "hasattr",
        "ord",
        "chr",
        "list",
        "tuple",
        "dict",
        "set",
        "frozenset",
        "sorted",
        "enumerate",
        "zip",
        "map",
        "filter",
        "reversed",
        "slice",
    }
)
# methods whose results are new values (arrays' reductions and copies, strings', random generators')
FRESH_METHODS = frozenset(
    {
        "copy",
        "astype",
        "flatten",
        "tolist",
        "item",
        "sum",
        "mean",
        "prod",
        "std",
        "var",
        "min",
        "max",
        "argmin",
        "argmax",
        "argsort",
        "cumsum",
        "cumprod",
        "dot",
        "round",
        "clip",
        "all",
        "any",
        "nonzero",
        "trace",
        "ptp",
        "repeat",
        "take",
        "compress",
        "searchsorted",
        "tobytes",
        "count",
        "index",
        "format",
        "join",
        "split",
        "strip",
        "lower",
        "upper",
        "replace",
        "startswith",
        "endswith",
        "keys",
        "normal",
        "uniform",
        "standard_normal",
        "random",
        "integers",
        "choice",
        "permutation",
        "rand",
        "randn",
        "randint",
        "binomial",
        "poisson",
        "exponential",
        "beta",
        "gamma",
        "laplace",
        "multivariate_normal",
    }
)
