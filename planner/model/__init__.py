"""The Pyomo model: constraint families with declared contracts (contract.py, families/), assembled
by build.py, solved by HiGHS (solve.py); warm starts, LP duals and diagnoses of infeasibility."""
