"""Pure logic over a job's failures and users' files: reason patterns, row ranges,
chunks, search, CSV in and out, rows of whole failed chunks, the one rule for showing user text."""
