"""The model core: box geometry, the pair potential and its derivatives, the one neighbour query, pair contractions, file I/O and runtime helpers."""
