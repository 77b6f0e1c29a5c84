"""Scenario overlays: table changes and policies applied on top of an instance, in order.

:func:`optimizer.scenarios.apply.apply_scenarios` returns a new
:class:`~optimizer.data.instance.Instance` with the changes made and the
policies parsed and checked (:mod:`.policy_schema`); stockpiles are compiled into
tables here (:mod:`.stockpile`).  :func:`optimizer.scenarios.apply.load` reads an
instance and applies scenarios in one call.
"""
