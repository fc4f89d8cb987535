"""The logic of the three functions, written against the ports only."""
