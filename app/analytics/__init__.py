"""Pure figures for campaigns and the report: tickets, co-holding, bundles, hook products."""
