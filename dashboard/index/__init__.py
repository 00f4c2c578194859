"""The index: a job's failures in the database, written by background scans, read by pages.

models   what is kept: an indexed job (one per Meteroid, job and state) and its failures
rows     pure: a failure record, or a row of a whole failed chunk, as a row of the index
writer   bulk writes (COPY on PostgreSQL, batched inserts on SQLite); pure data in
indexing the life of an index: asked for once per job and state, leased by one worker at
         a time, taken over when that worker dies, published whole, pruned
sources  where rows come from (Meteroid, through the gateway)
tasks    the background tasks (Django's tasks framework) that run the above
queries  what pages ask of an index
"""
