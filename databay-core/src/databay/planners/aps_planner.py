"""databay 0.3's import path of ApsPlanner, which now ships in databay-aps."""

from databay.compat import alias_module

alias_module(__name__, "databay_aps.aps_planner", "databay-aps", "aps")
