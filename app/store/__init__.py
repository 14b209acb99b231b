"""The versioned rule store: written only by the rebuild job, read by the API."""
