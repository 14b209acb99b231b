"""What the rebuild job writes and the API reads: key layout, entry shapes and their codecs."""
