"""Settings shared by the command line and the experiment runner (no heavy imports)."""

DASK_ENV = "SIM_DASK_ADDRESS"
"""Environment variable naming a Dask scheduler to run on."""

STAGES_KEPT = ("first", "all", "none")
"""How much of the hop-by-hop stage log to keep: first replication, all runs, none."""
