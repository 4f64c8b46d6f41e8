"""Particle mechanics on the core: Hessian and linear response, minimisation, glass properties, strain expansions."""
