"""The rule library: ``registry`` plus one module per namespace covered.

Importing this package registers every rule.
"""

from . import registry  # noqa: F401
from . import python  # noqa: F401
from . import math  # noqa: F401
from . import numpy_elementwise  # noqa: F401
from . import numpy_reductions  # noqa: F401
from . import numpy_shape  # noqa: F401
from . import numpy_indexing  # noqa: F401
from . import numpy_linalg  # noqa: F401
