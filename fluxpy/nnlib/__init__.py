"""Neural-network kernels (NNlib's role): convolutions and pooling with their rules."""
