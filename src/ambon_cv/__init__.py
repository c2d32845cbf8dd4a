"""ambon-cv: the Ambon CCTV command center's detector workbench.

Importing the package makes the process offline-safe first (see `ambon_cv.offline`), before
any model, dataset or pipeline library is imported.
"""

from ambon_cv import offline as _offline

_offline.apply()

__version__ = "0.1.0"
