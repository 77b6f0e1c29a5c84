"""How each policy type becomes rows and costs of the LP, plugged into the model build.

Policies are data (:mod:`optimizer.scenarios.policy_schema`); each type has one
family here (``trade``, ``shares``, ``origin``, ``environment``, ``price``) and an
entry in :data:`optimizer.policies.registry.FAMILIES` with the hooks it needs
(settle after the solve, rows to report, an invariant to check).  A family with no
policies of its type adds nothing.
"""
