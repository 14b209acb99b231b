"""Offline quality: how often the recommender would have guessed a hidden item of real orders."""
