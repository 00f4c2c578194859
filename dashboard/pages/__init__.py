"""What the pages show, made from what the gateway and the index give: query forms,
tables, charts, titles, the live poll, rendered pages, refresh limits."""
