"""The HTTP side: pages, the JSON API, exports as jobs, health and metrics."""
