"""The LP: index sets, one module per constraint family, and :func:`.build.build_model`.

Each family module holds its index set, its variables and rows and their math in
the docstring (Temoa's habit); :mod:`.core` has the container and the two helpers
every family uses; :mod:`.tracing` lifts an instance into origin labels before the
sets are built; :mod:`.reference` is the reference plan relative families use.
"""
