"""HTTP edge: routers, request and response schemas, dependencies and error mapping."""
