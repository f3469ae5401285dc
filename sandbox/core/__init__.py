"""Request plumbing shared by the simulated products: signatures, errors, dispatch, limits."""
