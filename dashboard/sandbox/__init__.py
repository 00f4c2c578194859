"""The sandbox: a stand-in for Meteroid's batch-jobs API with realistic demo data, served
over HTTP from each process that uses it. An app of its own, installed only where it is
enabled (SANDBOX_ENABLED); it tells the gateway where it listens (apps.py), so the gateway
never imports it."""
