"""NumPy implementations of the components, in the 11-785 homework API."""
