"""The scalar elasto-plastic model, its calibration from particle data and the comparison with particles."""


def matched_lattice(N: int, dim: int, block: float) -> int:
    """The EPM lattice matched to an N-particle box: L = round(N^(1/dim) / block) blocks (at least 4),
    the box side in d = (N/V)^(-1/dim) over the block side ξ = ``block`` (d; ``yield.block``), so that an
    EPM block is one coarse-graining block of the yield maps (N = 10 000, ξ = 5: L = 20)."""
    return max(4, int(round(int(N) ** (1.0 / int(dim)) / float(block))))
