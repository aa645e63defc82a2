"""A user's own code, outside mgsearch: named in configs by import path."""
