"""What an instance is: the schema of its tables, reading and checking them, ``extends``.

:func:`optimizer.data.instance.read` turns an instance folder into a validated
:class:`~optimizer.data.instance.Instance` (plain data); nothing here knows of
scenarios, models or solvers.
"""
