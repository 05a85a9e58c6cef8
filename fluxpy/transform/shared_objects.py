"""Which ``x op= y`` (or a user's ``x = operator.iadd(x, y)``, normalized as it: anf_updates.py) may change,
in place, an object that the function can also reach another way.

A user class's ``__iadd__`` (``__imul__``, ...) that writes its own attributes and returns ``self`` changes
the object in place. fluxpy differentiates it as a constructor: the name (or the item written back) gets a
new value, and every other reference keeps the old one, so a gradient through it would miss the change. The
normalizer makes copies right (``b = a``: ``if b is a: b = a`` after ``a += v``, see
anf.rebind_copies); for the other ways, this analysis lists the names that may hold the object (or hold
it inside), and when an ``__iadd__`` does change its object, the in-place rule looks at their values and
refuses the change if one of them holds it (rules/python_in_place.py: check_shared_in_place).
Flow-insensitive and generous: a name listed costs nothing unless such an ``__iadd__`` runs::

    a = Acc(x)
    b = a          # a copy: rebound after `a += x`
    items = [a]    # `items` may hold a's object: listed for `a += x`
    a += x

A function's result that is one of its arguments, or part of one (``a = first(items)``), is not seen.
"""

import gast

from . import nodes as n
from .nodes import body_nodes

# methods that put their arguments into their receiver (``items.append(a)``)
_STORING_METHODS = frozenset({"append", "extend", "insert", "add", "update", "setdefault", "__setitem__"})


class Sharing:
    """The function's copies, and per name what else may hold its object, with the line that shows it."""

    def __init__(self, fdef):
        self.into = {}  # name -> {name whose object it may hold (``l = [a]``: a): line}
        self.outof = {}  # name -> {name whose object (or part of it) it may be (``a = l[0]``: l): line}
        body = body_nodes(fdef)
        for node in body:
            line = getattr(node, "lineno", None)
            if isinstance(node, (gast.Assign, gast.AnnAssign)) and node.value is not None:
                for target in node.targets if isinstance(node, gast.Assign) else [node.target]:
                    if not (isinstance(target, gast.Name) and isinstance(node.value, gast.Name)):
                        self.bind(target, node.value, line)
            elif isinstance(node, gast.For):
                self.bind(node.target, node.iter, line, iterated=True)
            elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute):
                receiver = node.func.value
                if isinstance(receiver, gast.Name) and node.func.attr in _STORING_METHODS:
                    self.hold(receiver.id, _direct_names(node.args), line)
        self.copies = _copy_groups(body)  # name -> the names connected to it by copies, itself included
        # only local names hold objects the function can reach again (not `np` of `a = np.zeros(3)`)
        local = _local_names(fdef, body)
        for links in (self.into, self.outof):
            for name, held in links.items():
                links[name] = {k: v for k, v in held.items() if k in local}

    def bind(self, target, value, line, iterated=False):
        if isinstance(target, (gast.Subscript, gast.Attribute)):
            base = _base_name(target)
            if base is not None:
                self.hold(base, _direct_names([value]), line)  # l[k] = a, o.f = a
            return
        names = [t.id for t in n.walk(target) if isinstance(t, gast.Name)]
        unpacked = iterated or not isinstance(target, gast.Name)
        for name in names:
            self.hold(name, _direct_names([value]) if not unpacked else (), line)
            for source in _sources(value, unpacked):
                self.outof.setdefault(name, {}).setdefault(source, line)

    def hold(self, holder, names, line):
        for name in names:
            if name != holder:
                self.into.setdefault(holder, {}).setdefault(name, line)

    def group(self, name):
        return self.copies.get(name, {name})

    def others(self, names):
        """``{name: line}``: the names other than ``names`` (a name and its copies) that may hold their
        object, or hold it inside (a container or an object), with a line that shows it."""
        out = {}
        for holder, held in self.into.items():
            for name in names & held.keys() if holder not in names else ():
                out.setdefault(holder, held[name])
        for name in names:
            for source, line in self.outof.get(name, {}).items():
                out.setdefault(source, line)
        for other, sources in self.outof.items():
            for name in names & sources.keys() if other not in names else ():
                out.setdefault(other, sources[name])
        return {k: v for k, v in out.items() if k not in names}

    def item_others(self, base):
        """``{name: line}``: the names that may hold an item or attribute of ``base`` (or ``base``
        itself: a copy), other than ``base``."""
        names = self.group(base)
        out = {name: None for name in names - {base}}
        for name, line in self.into.get(base, {}).items():
            out.setdefault(name, line)
        for name, line in self.others(names).items():
            out.setdefault(name, line)
        return out


def _copy_groups(body):
    """Per name, the names connected to it by plain copies (``b = a``, ``a = b``, through others) and
    chained assignments (``a = b = v``)."""
    parent = {}

    def root(name):
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    for node in body:
        if isinstance(node, (gast.Assign, gast.AnnAssign)) and isinstance(node.value, gast.Name):
            for target in node.targets if isinstance(node, gast.Assign) else [node.target]:
                if isinstance(target, gast.Name):
                    parent[root(target.id)] = root(node.value.id)
        elif isinstance(node, gast.Assign) and len(node.targets) > 1:  # a = b = v: one object, two names
            names = [t.id for t in node.targets if isinstance(t, gast.Name)]
            for name in names[1:]:
                parent[root(name)] = root(names[0])
    groups = {}
    for name in list(parent):
        groups.setdefault(root(name), set()).add(name)
    return {name: groups[root(name)] for name in parent}


def _local_names(fdef, body):
    args = fdef.args
    params = [a for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg] if a]
    stored = {node.id for node in body if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store)}
    return stored | {a.id for a in params}


def _direct_names(values):
    """The names that ``values`` put as they are into what they build: items of displays, arguments of
    calls (``[a, 1]``, ``Box(a)``, ``f(a)``), either branch of ``x if c else a``."""
    out = []
    for value in values:
        if isinstance(value, gast.Name):
            out.append(value.id)
        elif isinstance(value, gast.Starred):
            out += _direct_names([value.value])
        elif isinstance(value, (gast.List, gast.Tuple, gast.Set)):
            out += _direct_names(value.elts)
        elif isinstance(value, gast.Dict):
            out += _direct_names([v for v in value.values if v is not None])
        elif isinstance(value, gast.Call):
            out += _direct_names(value.args + [k.value for k in value.keywords])
        elif isinstance(value, gast.IfExp):
            out += _direct_names([value.body, value.orelse])
        elif isinstance(value, gast.BoolOp):
            out += _direct_names(value.values)
    return out


def _sources(value, unpacked):
    """The names whose objects (or parts of them) ``value`` may be: ``l`` in ``l[0]``, ``o.a``,
    ``o.get(k)``, and an unpacked or iterated ``l`` (``a, b = l``, ``for a in l``, ``enumerate(l)``)."""
    if isinstance(value, gast.Name):
        return [value.id] if unpacked else []
    if isinstance(value, (gast.Subscript, gast.Attribute)):
        base = _base_name(value)
        return [base] if base is not None else []
    if isinstance(value, gast.Call):
        out = []
        if isinstance(value.func, gast.Attribute):
            out += _sources(value.func.value, True)  # a method's result may be part of its object
        if unpacked:  # for a in zip(l, m): an item of either
            out += [a.id for a in value.args if isinstance(a, gast.Name)]
        return out
    if isinstance(value, gast.IfExp):
        return _sources(value.body, unpacked) + _sources(value.orelse, unpacked)
    if isinstance(value, gast.BoolOp):
        return [s for v in value.values for s in _sources(v, unpacked)]
    return []


def _base_name(target):
    while isinstance(target, (gast.Subscript, gast.Attribute)):
        target = target.value
    return target.id if isinstance(target, gast.Name) else None
