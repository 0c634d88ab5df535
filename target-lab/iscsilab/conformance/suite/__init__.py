"""The tests, one module per area; each registers its tests with registry.case on import."""
