"""Reform Atlas analyses: region metrics, optimal centres and scenarios."""
