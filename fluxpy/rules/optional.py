"""Rules for optional packages (SciPy), registered when the package is imported, before or after fluxpy.

fluxpy never imports these packages itself: it does not depend on them, and ``scipy.special`` alone takes a
third of a second to import. A package in ``RULE_MODULES`` that is loaded already when fluxpy is imported
gets its rules then; otherwise a finder at the front of ``sys.meta_path`` (it finds nothing itself) waits
for its first import and registers the rules right after the package's own code has run. A rule registered
late takes effect at once, as every rule does (the registry's version is part of every cache key).
"""

import importlib
import importlib.util
import sys
import warnings

# package -> the fluxpy module holding its rules (importing that module registers them)
RULE_MODULES = {"scipy.special": "fluxpy.rules.scipy_special"}
_pending = dict(RULE_MODULES)


def _load(package):
    module = _pending.pop(package, None)
    if module is None:
        return
    try:
        importlib.import_module(module)
    except Exception as error:  # never break the user's import of the package
        warnings.warn(f"fluxpy could not register its rules for {package}: {error!r}", stacklevel=3)


class RulesOnImport:
    """The ``sys.meta_path`` finder that loads the rules of a package in ``RULE_MODULES`` right after the
    package's first import: it asks the other finders for the package's spec and wraps its loader's
    ``exec_module``."""

    def __init__(self):
        self._finding = set()

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _pending or fullname in self._finding:
            return None
        self._finding.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._finding.discard(fullname)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return None
        run = loader.exec_module

        def exec_module(module):
            run(module)
            _load(fullname)

        loader.exec_module = exec_module
        return spec


def install():
    """Register the rules of the packages loaded already; wait for the others' import."""
    for package in list(_pending):
        if package in sys.modules:
            _load(package)
    if _pending and not any(isinstance(f, RulesOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, RulesOnImport())


install()
