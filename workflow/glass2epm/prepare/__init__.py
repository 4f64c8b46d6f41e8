"""Glass preparation: SWAP Monte Carlo at the parent temperature and the onset of the model."""
