"""A griffe extension for the API reference (mkdocs.yml loads it).

fluxpy's docstrings are prose plus doctests. Before mkdocstrings renders one, each run of doctest lines
(from a line starting with the prompt to the next blank line) is put in a ``pycon`` code fence: unfenced,
Markdown would read the prompt as nested block quotes. Sphinx roles (``:func:`onehot```,
``:class:`~fluxpy.errors.FluxpyError```) become inline code (``onehot``, ``FluxpyError``).
"""

import re

import griffe

ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):`(~?)([^`]+)`")
DOCTEST_FLAGS = re.compile(r"\s*#\s*doctest:.*$")


def fence_doctests(text):
    r"""``text`` with each run of doctest lines in a ``pycon`` fence.

    >>> fence_doctests("Twice.\n\n>>> 2 * 3\n6\n\nThat is all.").splitlines()
    ['Twice.', '', '```pycon', '>>> 2 * 3', '6', '```', '', 'That is all.']
    """
    out, in_fence, in_example = [], False, False
    for line in text.split("\n"):
        if in_example and not line.strip():
            out.append("```")
            in_example = False
        elif line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence and not in_example and line.startswith(">>>"):
            out.append("```pycon")
            in_example = True
        out.append(DOCTEST_FLAGS.sub("", line) if in_example else line)
    if in_example:
        out.append("```")
    return "\n".join(out)


def plain_roles(text):
    """Sphinx roles as inline code.

    >>> plain_roles("See :func:`onehot` and :class:`~fluxpy.errors.FluxpyError`.")
    'See ``onehot`` and ``FluxpyError``.'
    """
    return ROLE.sub(lambda m: f"``{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}``", text)


class DoctestBlocks(griffe.Extension):
    """Rewrite every docstring with :func:`fence_doctests` and :func:`plain_roles` before it is parsed."""

    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(plain_roles(obj.docstring.value))
