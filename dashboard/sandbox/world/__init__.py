"""The sandbox's world: seeded jobs, their failures and files, computed from the seed and the clock."""
