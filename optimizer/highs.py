"""The one silent HiGHS instance, for every layer that runs an LP (the model's own runs
in :mod:`optimizer.lp.run`, the input checks' small LPs in :mod:`optimizer.data.checks`)."""

from __future__ import annotations

import os
import sys

import highspy

_BANNER_SHOWN = False


def new_highs() -> highspy.Highs:
    """A silent HiGHS instance.

    HiGHS prints a banner on stdout when the first instance of a process is
    created, before any option can be set; we swallow it at the file-descriptor
    level so that CLI output and piped CSV stay clean.
    """
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        _BANNER_SHOWN = True
    h.setOptionValue("output_flag", False)
    return h
