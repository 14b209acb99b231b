"""The read side: decoding published entries, ranking, filtering, fallbacks."""
