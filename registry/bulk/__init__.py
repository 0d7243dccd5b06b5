"""Set-based writes for the bulk paths (roster import, benchmarks): COPY and batched
statements, never a query per row. Everything here runs on the caller's connection,
inside the caller's transaction."""
