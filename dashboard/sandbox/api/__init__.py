"""The sandbox's HTTP side: Meteroid's batch-jobs API, its control endpoint, its server."""
