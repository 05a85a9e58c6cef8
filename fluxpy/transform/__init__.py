"""The source-transformation pipeline, one module per stage, in order:

1. ``source``    find a function's source by its code object (functions, methods, lambdas, nested defs)
2. ``parse``     parse it into a gast ``FunctionDef`` with absolute line and column numbers
3. ``fence``     reject unsupported syntax with a TransformError naming file, line, column and source line,
                  and writes another reference would show (``item_targets``: refused, or checked at run time)
4. ``normalize`` rewrite into one call per statement (passes in ``normalize/``, each with its postcondition)
5. ``adjoint``   generate the forward function and its pullback from the normalized function
6. ``codegen``   unparse, compile under a linecache-registered filename, bind to the user's live globals
7. ``cache``     remember the result per code object, globals and rule-registry version
"""
