"""Demo shop and synthetic benchmark data, written as CSV files for the importer."""
