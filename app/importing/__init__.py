"""Loading shop data (products, orders, upgrade paths, plans, subscriptions) from CSV files."""
