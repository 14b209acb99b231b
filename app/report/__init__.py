"""The analyst's report: portfolio KPIs and how the main products combine, as one HTML file."""
