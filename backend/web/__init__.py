"""Web plumbing under the features: errors, OpenAPI, the edge layer (request ids, metrics,
logs, security headers), the PWA's static files, health probes. Imports no feature."""
