"""The LP as HiGHS sees it: the hand-off of a built model, runs, export and diagnosis.

:mod:`.handoff` compiles a :class:`~optimizer.model.core.ChainModel` to one
``highspy.passModel`` call and keeps the maps from HiGHS columns and rows back to
the model's labelled keys (:class:`~optimizer.lp.handoff.LpHandle`); :mod:`.run`
runs HiGHS with the measured method choice; :mod:`.export` writes the exact LP;
:mod:`.iis` explains an infeasible one in instance terms.
"""
