"""What a solve returns and writes: the output schema, :class:`.result.Result`, collecting it
from HiGHS, concentration, comparing two results, and reading a saved ``--out`` folder."""
